import { describe, expect, it } from '@jest/globals';
import { AppSpec, JobSpec, specHash, type AppSpecInput } from '@berth/model';
import { DriverErrorCode, LABEL, fieldChanges, isDriverError } from '@berth/driver';
import {
  SWARM_LABEL,
  appContextFor,
  asRollback,
  jobRunName,
  normalizeLiveSpec,
  readServiceSpec,
  renderJob,
  renderMembers,
  renderService,
  type RenderedService,
} from '../src/swarm-spec.mapper.js';
import type { EngineServiceSpec } from '../src/swarm-engine.types.js';

const SECOND_NS = 1_000_000_000;

function render(input: AppSpecInput, service: string): RenderedService {
  const app = AppSpec.parse(input);
  return renderService(app.name, service, app.services[service]!, appContextFor(app, app.services[service]!));
}

const shop: AppSpecInput = {
  name: 'shop',
  labels: { team: 'payments' },
  volumes: { uploads: { driver: 'local', driverOptions: { type: 'nfs', o: 'addr=10.0.0.9', device: ':/exports/uploads' } } },
  services: {
    web: {
      image: 'nginx:1.27',
      entrypoint: ['/docker-entrypoint.sh'],
      command: ['nginx', '-g', 'daemon off;'],
      env: { ZED: 'last', ALPHA: 'first' },
      ports: [
        { target: 80, published: 8080 },
        { target: 9000, mode: 'host', protocol: 'udp' },
      ],
      labels: { tier: 'front' },
      healthCheck: { test: ['CMD', 'nc', '-z', 'localhost', '80'], interval: '10s', timeout: '2s', retries: 4, startPeriod: '30s' },
      resources: { limits: { cpus: 0.5, memoryBytes: 268_435_456 }, reservations: { cpus: 0.25 } },
      replicas: 3,
      placement: { constraints: ['node.labels.zone==a'], maxReplicasPerNode: 2 },
      update: { parallelism: 2, delay: '2s', order: 'start-first', failureAction: 'rollback', monitor: '15s', maxFailureRatio: 0.25 },
      rollback: { parallelism: 0, delay: 0, order: 'stop-first', failureAction: 'continue', monitor: '5s' },
      restart: { condition: 'on-failure', maxAttempts: 5, delay: '3s' },
      stopGracePeriod: '20s',
      workingDir: '/srv',
      user: 'nginx',
      volumes: [
        { type: 'implicit', target: '/scratch' },
        { type: 'hostPath', source: '/var/log/shop', target: '/logs', readOnly: true },
        { type: 'shared', source: 'uploads', target: '/uploads' },
      ],
    },
    db: {
      image: 'postgres:16',
      replicas: 2,
      stateful: true,
      hostname: 'pg',
      ports: [{ target: 5432, published: 5432 }],
      volumes: [{ type: 'named', source: 'data', target: '/var/lib/postgresql/data' }],
    },
    agent: { image: 'agent:1', mode: 'global' },
  },
};

describe('renderService: an app service as the Swarm service Berth writes', () => {
  it('names the service <app>_<service>, labels it as a stack and records the Berth spec', () => {
    const { spec } = render(shop, 'web');
    const web = AppSpec.parse(shop).services.web!;
    expect(spec.Name).toBe('shop_web');
    expect(spec.Labels).toMatchObject({
      [LABEL.stackNamespace]: 'shop',
      [LABEL.app]: 'shop',
      [LABEL.service]: 'web',
      [LABEL.specHash]: specHash(web),
      team: 'payments',
      tier: 'front',
    });
    expect(readServiceSpec(spec.Labels)).toEqual(web);
    expect(spec.TaskTemplate.ContainerSpec.Labels).toMatchObject({ [LABEL.stackNamespace]: 'shop', [LABEL.service]: 'web', tier: 'front' });
  });

  it('joins the app network under the service name, so "web" resolves there', () => {
    expect(render(shop, 'web').spec.TaskTemplate.Networks).toEqual([{ Target: 'shop_default', Aliases: ['web'] }]);
  });

  it('maps the container: entrypoint/command, sorted env, dir, user, grace period in nanoseconds', () => {
    expect(render(shop, 'web').spec.TaskTemplate.ContainerSpec).toMatchObject({
      Image: 'nginx:1.27',
      Command: ['/docker-entrypoint.sh'],
      Args: ['nginx', '-g', 'daemon off;'],
      Env: ['ALPHA=first', 'ZED=last'],
      Dir: '/srv',
      User: 'nginx',
      StopGracePeriod: 20 * SECOND_NS,
    });
  });

  it('converts health check durations from milliseconds to nanoseconds', () => {
    expect(render(shop, 'web').spec.TaskTemplate.ContainerSpec.Healthcheck).toEqual({
      Test: ['CMD', 'nc', '-z', 'localhost', '80'],
      Interval: 10 * SECOND_NS,
      Timeout: 2 * SECOND_NS,
      Retries: 4,
      StartPeriod: 30 * SECOND_NS,
    });
  });

  it('maps resources, placement and restart policy', () => {
    const task = render(shop, 'web').spec.TaskTemplate;
    expect(task.Resources).toEqual({ Limits: { NanoCPUs: 500_000_000, MemoryBytes: 268_435_456 }, Reservations: { NanoCPUs: 250_000_000 } });
    expect(task.Placement).toEqual({ Constraints: ['node.labels.zone==a'], MaxReplicas: 2 });
    expect(task.RestartPolicy).toEqual({ Condition: 'on-failure', MaxAttempts: 5, Delay: 3 * SECOND_NS });
  });

  it('maps the update and rollback policies 1:1 onto UpdateConfig and RollbackConfig', () => {
    const { spec } = render(shop, 'web');
    expect(spec.UpdateConfig).toEqual({
      Parallelism: 2,
      Delay: 2 * SECOND_NS,
      FailureAction: 'rollback',
      Monitor: 15 * SECOND_NS,
      MaxFailureRatio: 0.25,
      Order: 'start-first',
    });
    // a zero delay is left out, as the engine returns it
    expect(spec.RollbackConfig).toEqual({ Parallelism: 0, FailureAction: 'continue', Monitor: 5 * SECOND_NS, MaxFailureRatio: 0, Order: 'stop-first' });
  });

  it('writes the default policies when the service gives none, so plans show what Swarm will do', () => {
    const { spec } = render(shop, 'agent');
    expect(spec.UpdateConfig).toEqual({ Parallelism: 1, FailureAction: 'pause', Monitor: 5 * SECOND_NS, MaxFailureRatio: 0, Order: 'stop-first' });
    expect(spec.Mode).toEqual({ Global: {} });
  });

  it('publishes ports through the routing mesh or on the host, with a VIP', () => {
    expect(render(shop, 'web').spec.EndpointSpec).toEqual({
      Mode: 'vip',
      Ports: [
        { Protocol: 'tcp', TargetPort: 80, PublishedPort: 8080, PublishMode: 'ingress' },
        { Protocol: 'udp', TargetPort: 9000, PublishMode: 'host' },
      ],
    });
    expect(render(shop, 'web').spec.Mode).toEqual({ Replicated: { Replicas: 3 } });
  });

  it('maps the volume kinds: implicit -> anonymous volume, hostPath -> bind, shared -> the app volume driver', () => {
    const { spec, warnings } = render(shop, 'web');
    const [scratch, logs, uploads] = spec.TaskTemplate.ContainerSpec.Mounts!;
    expect(scratch).toEqual({ Type: 'volume', Target: '/scratch' });
    expect(logs).toEqual({ Type: 'bind', Source: '/var/log/shop', Target: '/logs', ReadOnly: true });
    expect(uploads).toMatchObject({
      Type: 'volume',
      Source: 'shop_uploads',
      Target: '/uploads',
      VolumeOptions: {
        Labels: { [LABEL.app]: 'shop', [LABEL.volume]: 'uploads', [LABEL.volumeKind]: 'shared' },
        DriverConfig: { Name: 'local', Options: { type: 'nfs', o: 'addr=10.0.0.9', device: ':/exports/uploads' } },
      },
    });
    expect(warnings.map((w) => w.path)).toEqual(expect.arrayContaining(['services.web.volumes[1].source', 'volumes.uploads.size']));
  });

  it('gives a stateful service DNS round robin, a slot hostname and one volume per replica', () => {
    const { spec, warnings } = render(shop, 'db');
    expect(spec.EndpointSpec?.Mode).toBe('dnsrr');
    expect(spec.TaskTemplate.ContainerSpec.Hostname).toBe('pg-{{.Task.Slot}}');
    expect(spec.TaskTemplate.ContainerSpec.Mounts).toEqual([
      {
        Type: 'volume',
        Source: 'shop_data-{{.Task.Slot}}',
        Target: '/var/lib/postgresql/data',
        VolumeOptions: { Labels: expect.objectContaining({ [LABEL.volume]: 'data', [LABEL.volumeKind]: 'named' }) },
      },
    ]);
    // dnsrr cannot use the routing mesh: the port goes to host mode, and the plan says so
    expect(spec.EndpointSpec?.Ports).toEqual([{ Protocol: 'tcp', TargetPort: 5432, PublishedPort: 5432, PublishMode: 'host' }]);
    expect(warnings).toEqual([expect.objectContaining({ path: 'services.db.ports[0].mode' })]);
  });

  it('runs a stateful service as one service per member: <app>_db-<n>, alias <service>-<n> and <service>, its own volume, one replica', () => {
    const app = AppSpec.parse(shop);
    const members = renderMembers('shop', 'db', app.services.db!, appContextFor(app, app.services.db!));
    expect(members.map((m) => m.spec.Name)).toEqual(['shop_db-0', 'shop_db-1']);
    const [first, second] = members.map((m) => m.spec);
    expect(second!.Mode).toEqual({ Replicated: { Replicas: 1 } });
    expect(second!.Labels).toMatchObject({ [LABEL.service]: 'db', [LABEL.member]: '1', [LABEL.specHash]: specHash(app.services.db!) });
    expect(second!.TaskTemplate.ContainerSpec.Hostname).toBe('pg-1');
    expect(second!.TaskTemplate.ContainerSpec.Mounts?.map((m) => m.Source)).toEqual(['shop_data-1']);
    expect(second!.TaskTemplate.Networks).toEqual([{ Target: 'shop_default', Aliases: ['db-1', 'db'] }]);
    // each member has its own render hash, and the app's warnings are given once
    expect(first!.Labels[SWARM_LABEL.renderHash]).not.toBe(second!.Labels[SWARM_LABEL.renderHash]);
    expect(members.flatMap((m) => m.warnings)).toHaveLength(1);
  });

  it('warns that a named volume of a replicated, non-stateful service is node-local and shared on a node', () => {
    const { warnings, spec } = render(
      { name: 'a', services: { w: { image: 'x', replicas: 2, volumes: [{ type: 'named', source: 'cache', target: '/c' }] } } },
      'w',
    );
    expect(spec.TaskTemplate.ContainerSpec.Mounts?.[0]?.Source).toBe('a_cache');
    expect(warnings.map((w) => w.path)).toEqual(['services.w.volumes[0].source']);
  });

  it('warns when a shared volume has only a Kubernetes storage class', () => {
    const { warnings } = render(
      { name: 'a', volumes: { files: { storageClass: 'nfs' } }, services: { w: { image: 'x', volumes: [{ type: 'shared', source: 'files', target: '/f' }] } } },
      'w',
    );
    expect(warnings.map((w) => w.path)).toContain('volumes.files.driver');
  });

  it('refuses a name Swarm would refuse (over 63 characters) with a path to fix', () => {
    const long = 'a'.repeat(40);
    const err = (() => {
      try {
        render({ name: long, services: { [long]: { image: 'x' } } }, long);
      } catch (e) {
        return e;
      }
    })();
    expect(isDriverError(err, DriverErrorCode.Invalid)).toBe(true);
    expect((err as { causes: { path: string }[] }).causes[0]!.path).toBe(`services.${long}`);
  });

  it('changes the render hash with what shapes the engine spec, and only then', () => {
    const hash = (input: AppSpecInput) => render(input, 'web').spec.Labels[SWARM_LABEL.renderHash];
    expect(hash(shop)).toBe(hash(structuredClone(shop)));
    expect(hash({ ...shop, labels: { team: 'search' } })).not.toBe(hash(shop));
    expect(hash({ ...shop, volumes: { uploads: { driver: 'nfs-plugin' } } })).not.toBe(hash(shop));
    // a volume the service does not mount is not part of its context
    expect(hash({ ...shop, volumes: { ...shop.volumes, other: { driver: 'x' } } })).toBe(hash(shop));
  });
});

describe('asRollback', () => {
  it('rolls out with the revision rollback policy, keeping the plain render hash', () => {
    const app = AppSpec.parse(shop);
    const web = app.services.web!;
    const { spec } = renderService('shop', 'web', web, appContextFor(app, web));
    const rollback = asRollback(spec, web);
    expect(rollback.UpdateConfig).toEqual(spec.RollbackConfig);
    expect(rollback.Labels[SWARM_LABEL.renderHash]).toBe(spec.Labels[SWARM_LABEL.renderHash]);
  });
});

describe('renderJob', () => {
  const ctx = { labels: {}, volumes: {} };

  it('runs a job as a replicated-job service with parallelism and completions', () => {
    const job = JobSpec.parse({ name: 'migrate', app: 'shop', image: 'tool:1', command: ['migrate', 'up'], parallelism: 2, completions: 4 });
    const spec = renderJob('shop', 'job-migrate-abc123', job, ctx);
    expect(spec.Name).toBe('shop_job-migrate-abc123');
    expect(spec.Mode).toEqual({ ReplicatedJob: { MaxConcurrent: 2, TotalCompletions: 4 } });
    expect(spec.Labels).toMatchObject({ [LABEL.job]: 'migrate', [LABEL.app]: 'shop', [LABEL.stackNamespace]: 'shop' });
    expect(spec.TaskTemplate.ContainerSpec.Args).toEqual(['migrate', 'up']);
    expect(spec.TaskTemplate.RestartPolicy).toEqual({ Condition: 'none' });
  });

  it("places a job's tasks by its constraints", () => {
    const job = JobSpec.parse({ name: 'm', image: 'x', placement: { constraints: ['node.labels.disk == ssd'] } });
    expect(renderJob('default', 'job-m-1', job, ctx).TaskTemplate.Placement).toEqual({ Constraints: ['node.labels.disk == ssd'] });
    expect(renderJob('default', 'job-m-1', JobSpec.parse({ name: 'm', image: 'x' }), ctx).TaskTemplate.Placement).toBeUndefined();
  });

  it('retries failed runs on failure up to backoffLimit', () => {
    const job = JobSpec.parse({ name: 'm', image: 'x', backoffLimit: 3 });
    expect(renderJob('default', 'job-m-1', job, ctx).TaskTemplate.RestartPolicy).toEqual({ Condition: 'on-failure', MaxAttempts: 3 });
  });

  it('shortens run names so the service name fits Swarm', () => {
    const app = 'a'.repeat(40);
    const name = jobRunName(app, 'b'.repeat(40), 'abc123');
    expect(`${app}_${name}`.length).toBeLessThanOrEqual(63);
    expect(name).toMatch(/^job-b+-abc123$/);
  });
});

describe('normalizeLiveSpec', () => {
  it('brings what the engine returns back to the rendered shape, so an unchanged service diffs clean', () => {
    const { spec } = render(shop, 'web');
    // What Docker 20.10 returned for this spec: network IDs for names, and defaults filled in.
    const live: EngineServiceSpec = {
      ...spec,
      TaskTemplate: {
        ...spec.TaskTemplate,
        ContainerSpec: { ...spec.TaskTemplate.ContainerSpec, Isolation: 'default' },
        Networks: [{ Target: 'l7i6m27lonc9k0wkmzefm1jrs', Aliases: ['web'] }],
        ForceUpdate: 0,
        Runtime: 'container',
      },
    };
    expect(fieldChanges(normalizeLiveSpec(live, new Map([['l7i6m27lonc9k0wkmzefm1jrs', 'shop_default']])), spec)).toEqual([]);
    const older = { ...live, TaskTemplate: { ...live.TaskTemplate, ContainerSpec: { ...live.TaskTemplate.ContainerSpec, Image: 'nginx:1.26' } } };
    expect(fieldChanges(normalizeLiveSpec(older, new Map()), spec)).toContainEqual({
      path: 'TaskTemplate.ContainerSpec.Image',
      from: 'nginx:1.26',
      to: 'nginx:1.27',
    });
  });
});

describe('readServiceSpec', () => {
  it('ignores a label that is not a valid spec (edited by hand)', () => {
    expect(readServiceSpec({ [LABEL.spec]: '{"image":' })).toBeUndefined();
    expect(readServiceSpec({ [LABEL.spec]: '{"replicas":-1}' })).toBeUndefined();
    expect(readServiceSpec(undefined)).toBeUndefined();
  });
});

describe('node-level fields', () => {
  it("carries capabilities (with the engine's CAP_ prefix) and the host network", () => {
    const { spec, warnings } = render(
      {
        name: 'ops',
        services: { agent: { image: 'a:1', capAdd: ['NET_ADMIN'], capDrop: ['ALL'], hostNetwork: true, ports: [{ target: 80, published: 8080 }] } },
      },
      'agent',
    );
    expect(spec.TaskTemplate.ContainerSpec.CapabilityAdd).toEqual(['CAP_NET_ADMIN']);
    expect(spec.TaskTemplate.ContainerSpec.CapabilityDrop).toEqual(['ALL']);
    expect(spec.TaskTemplate.Networks).toEqual([{ Target: 'host' }]);
    expect(spec.EndpointSpec?.Ports).toBeUndefined();
    expect(warnings.map((w) => w.path)).toContain('services.agent.ports');
  });

  it('refuses, by field, what a Swarm service cannot have instead of dropping it', () => {
    try {
      render({ name: 'ops', services: { agent: { image: 'a:1', privileged: true, hostPid: true, devices: [{ source: '/dev/fuse' }] } } }, 'agent');
      throw new Error('expected a refusal');
    } catch (e) {
      expect(isDriverError(e) && e.code).toBe(DriverErrorCode.Unsupported);
      expect((e as { causes: { path: string }[] }).causes.map((c) => c.path)).toEqual([
        'services.agent.privileged',
        'services.agent.hostPid',
        'services.agent.devices',
      ]);
    }
  });
});
