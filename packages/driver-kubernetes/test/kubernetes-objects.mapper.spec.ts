import { describe, expect, it } from '@jest/globals';
import type { V1DaemonSet, V1Deployment, V1Job, V1PersistentVolumeClaim, V1Service, V1StatefulSet } from '@kubernetes/client-node';
import { AppSpec, JobSpec, ServiceSpec, canonicalJson, specHash, type AppSpecInput } from '@berth/model';
import { DriverErrorCode, LABEL } from '@berth/driver';
import {
  ANNOTATION,
  MIN_PROGRESS_DEADLINE_SECONDS,
  progressDeadlineSeconds,
  renderApp,
  renderJob,
  renderService,
  rollingParams,
  type KubeObject,
  type RenderedObject,
} from '../src/kubernetes-objects.mapper.js';

const app = (services: AppSpecInput['services'], extra: Partial<AppSpecInput> = {}) => AppSpec.parse({ name: 'shop', services, ...extra });
const find = <T>(objects: RenderedObject[], kind: string, name?: string): T & KubeObject => {
  const o = objects.find((x) => x.object.kind === kind && (name === undefined || x.object.metadata.name === name));
  if (!o) throw new Error(`no ${kind} ${name ?? ''} in ${objects.map((x) => `${x.object.kind}/${x.object.metadata.name}`).join(', ')}`);
  return o.object as T & KubeObject;
};
const allObjects = (spec: AppSpec) => {
  const r = renderApp(spec);
  return { ...r, objects: [r.namespace, ...r.claims, ...[...r.services.values()].flatMap((s) => s.objects)] };
};

describe('update policy → rolling update parameters', () => {
  it('start-first surges by the batch size and keeps every old replica until new ones are available', () => {
    expect(rollingParams({ parallelism: 2, delay: 0, order: 'start-first', monitor: 5000 })).toEqual({ maxSurge: 2, maxUnavailable: 0, minReadySeconds: 0 });
  });

  it('stop-first takes the batch size down first and never surges', () => {
    expect(rollingParams({ parallelism: 2, delay: 0, order: 'stop-first', monitor: 5000 })).toEqual({ maxSurge: 0, maxUnavailable: 2, minReadySeconds: 0 });
  });

  it('parallelism 0 replaces everything at once (100%)', () => {
    expect(rollingParams({ parallelism: 0, delay: 0, order: 'stop-first', monitor: 0 }).maxUnavailable).toBe('100%');
    expect(rollingParams({ parallelism: 0, delay: 0, order: 'start-first', monitor: 0 }).maxSurge).toBe('100%');
  });

  it('the delay between batches becomes minReadySeconds, rounded up to whole seconds', () => {
    expect(rollingParams({ parallelism: 1, delay: 2500, order: 'stop-first', monitor: 0 }).minReadySeconds).toBe(3);
  });

  it('the progress deadline exceeds minReadySeconds, has a floor, and grows with monitor, delay and health-check start-up', () => {
    expect(progressDeadlineSeconds({ parallelism: 1, delay: 0, order: 'stop-first', monitor: 4000 })).toBe(MIN_PROGRESS_DEADLINE_SECONDS);
    expect(progressDeadlineSeconds({ parallelism: 1, delay: 30_000, order: 'stop-first', monitor: 0 })).toBe(31);
    expect(progressDeadlineSeconds({ parallelism: 1, delay: 5000, order: 'stop-first', monitor: 20_000 })).toBe(25);
    // Docker calls a container unhealthy after the start period and `retries` failed probes: 30 s + 3 × 10 s, then the 5 s monitor
    const health = { test: ['CMD', 'true'], interval: 10_000, timeout: 1000, retries: 3, startPeriod: 30_000 };
    expect(progressDeadlineSeconds({ parallelism: 1, delay: 0, order: 'stop-first', monitor: 5000 }, health)).toBe(65);
  });

  it('writes the mapping into the Deployment', () => {
    const spec = app({ web: { image: 'nginx:1', replicas: 4, update: { parallelism: 2, order: 'start-first', delay: '3s', monitor: '20s' } } });
    const d = find<V1Deployment>(allObjects(spec).objects, 'Deployment', 'web');
    expect(d.spec?.strategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxSurge: 2, maxUnavailable: 0 } });
    expect(d.spec?.minReadySeconds).toBe(3);
    expect(d.spec?.progressDeadlineSeconds).toBe(23);
    expect(d.spec?.replicas).toBe(4);
    expect(d.spec?.paused).toBe(false);
  });

  it('rolls a rollback with the rollback policy, without making the same spec look changed', () => {
    const svc = ServiceSpec.parse({ image: 'nginx:1', update: { parallelism: 2, order: 'start-first' }, rollback: { parallelism: 1, order: 'stop-first' } });
    const ctx = { appLabels: {}, volumes: {} };
    const normal = renderService('shop', 'web', svc, ctx);
    const rollback = renderService('shop', 'web', svc, ctx, { rollout: { reason: 'rollback', startedAt: '2026-01-01T00:00:00Z' }, previousSpec: svc });
    expect((rollback.workload.object as V1Deployment).spec?.strategy?.rollingUpdate).toEqual({ maxSurge: 0, maxUnavailable: 1 });
    expect(rollback.workload.hash).toBe(normal.workload.hash);
    const paused = renderService('shop', 'web', svc, ctx, { paused: true });
    expect((paused.workload.object as V1Deployment).spec?.paused).toBe(true);
    expect(paused.workload.hash).toBe(normal.workload.hash);
  });
});

describe('services → workloads', () => {
  it('a stateful service is a StatefulSet with a headless Service and one claim template per named volume', () => {
    const spec = app(
      {
        db: {
          image: 'postgres:16',
          replicas: 2,
          stateful: true,
          hostname: 'db',
          volumes: [{ type: 'named', source: 'data', target: '/data' }],
          ports: [{ target: 5432 }],
        },
      },
      { volumes: { data: { size: '5Gi', storageClass: 'fast' } } },
    );
    const { objects, warnings } = allObjects(spec);
    const sts = find<V1StatefulSet>(objects, 'StatefulSet', 'db');
    expect(sts.spec?.serviceName).toBe('db');
    expect(sts.spec?.replicas).toBe(2);
    expect(
      sts.spec?.volumeClaimTemplates?.map((t) => [t.metadata?.name, t.spec?.accessModes, t.spec?.resources?.requests?.storage, t.spec?.storageClassName]),
    ).toEqual([['data', ['ReadWriteOnce'], '5Gi', 'fast']]);
    expect(sts.spec?.template.spec?.containers[0]?.volumeMounts).toEqual([{ name: 'data', mountPath: '/data' }]);
    // claim templates, not pod volumes: each pod gets its own claim data-db-<ordinal>
    expect(sts.spec?.template.spec?.volumes).toBeUndefined();
    expect(sts.spec?.updateStrategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, partition: 0 } });
    const headless = find<V1Service>(objects, 'Service', 'db');
    expect(headless.spec?.clusterIP).toBe('None');
    // ingress-published ports of a stateful service get a NodePort Service beside the headless one
    expect(find<V1Service>(objects, 'Service', 'db-published').spec?.type).toBe('NodePort');
    expect(objects.some((o) => o.object.kind === 'PersistentVolumeClaim')).toBe(false);
    expect(warnings).toEqual([]);
  });

  it('each member of a stateful service gets a headless Service of its own name, selecting its pod, published before it is ready', () => {
    const spec = app({ db: { image: 'etcd:1', replicas: 3, stateful: true, ports: [{ target: 2379, mode: 'host' }] } });
    const members = allObjects(spec)
      .objects.filter((o) => o.object.kind === 'Service' && o.object.metadata.name !== 'db')
      .map((o) => o.object as V1Service & KubeObject);
    expect(members.map((m) => m.metadata.name)).toEqual(['db-0', 'db-1', 'db-2']);
    expect(members[1]!.spec).toEqual({
      selector: { [LABEL.app]: 'shop', [LABEL.service]: 'db', 'statefulset.kubernetes.io/pod-name': 'db-1' },
      clusterIP: 'None',
      publishNotReadyAddresses: true,
      ports: [{ name: 'tcp-2379', port: 2379, targetPort: 2379, protocol: 'TCP' }],
    });
    // labelled as the service's, so a scale-down or a delete of the app removes them with it
    expect(members.every((m) => m.metadata.labels?.[LABEL.service] === 'db')).toBe(true);
    const scaled = app({ db: { image: 'etcd:1', replicas: 1, stateful: true } });
    expect(
      allObjects(scaled)
        .objects.filter((o) => o.object.kind === 'Service')
        .map((o) => o.object.metadata.name),
    ).toEqual(['db', 'db-0']);
  });

  it('a global service is a DaemonSet with RollingUpdate surge/unavailability', () => {
    const spec = app({ agent: { image: 'agent:1', mode: 'global', update: { parallelism: 1, order: 'start-first' } } });
    const ds = find<V1DaemonSet>(allObjects(spec).objects, 'DaemonSet', 'agent');
    expect(ds.spec?.updateStrategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } });
    expect(ds.spec?.selector.matchLabels).toEqual({ [LABEL.app]: 'shop', [LABEL.service]: 'agent' });
  });

  it('ports: ClusterIP + NodePort for ingress (published in range), hostPort for host mode, a warning out of range', () => {
    const spec = app({
      web: {
        image: 'nginx:1',
        ports: [
          { target: 80, published: 30080 },
          { target: 443, published: 8443 },
          { target: 9000, published: 9000, mode: 'host', protocol: 'udp' },
        ],
      },
    });
    const { objects, warnings } = allObjects(spec);
    const svc = find<V1Service>(objects, 'Service', 'web');
    expect(svc.spec?.type).toBe('NodePort');
    expect(svc.spec?.ports).toEqual([
      { name: 'tcp-80', port: 80, targetPort: 80, protocol: 'TCP', nodePort: 30080 },
      { name: 'tcp-443', port: 443, targetPort: 443, protocol: 'TCP' },
      { name: 'udp-9000', port: 9000, targetPort: 9000, protocol: 'UDP' },
    ]);
    const container = find<V1Deployment>(objects, 'Deployment', 'web').spec?.template.spec?.containers[0];
    expect(container?.ports).toContainEqual({ name: 'udp-9000', containerPort: 9000, protocol: 'UDP', hostPort: 9000 });
    expect(warnings).toEqual([expect.objectContaining({ path: 'services.web.ports[1].published', message: expect.stringContaining('NodePort range') })]);
  });

  it('a service without ports still gets a (headless) Service, so its DNS name resolves', () => {
    const svc = find<V1Service>(allObjects(app({ worker: { image: 'w:1' } })).objects, 'Service', 'worker');
    expect(svc.spec?.clusterIP).toBe('None');
    expect(svc.spec?.ports).toEqual([]);
  });

  it('volumes: implicit → emptyDir, hostPath, named → ReadWriteOnce claim, shared → ReadWriteMany claim with its class', () => {
    const spec = app(
      {
        web: {
          image: 'nginx:1',
          volumes: [
            { type: 'implicit', target: '/scratch' },
            { type: 'hostPath', source: '/var/log', target: '/host', readOnly: true },
            { type: 'named', source: 'cache', target: '/cache' },
            { type: 'shared', source: 'media', target: '/media' },
          ],
        },
      },
      { volumes: { media: { storageClass: 'nfs', size: '10Gi' } } },
    );
    const { objects } = allObjects(spec);
    const pod = find<V1Deployment>(objects, 'Deployment', 'web').spec?.template.spec;
    expect(pod?.volumes).toEqual([
      { name: 'scratch-0', emptyDir: {} },
      { name: 'host-1', hostPath: { path: '/var/log' } },
      { name: 'cache', persistentVolumeClaim: { claimName: 'cache' } },
      { name: 'media', persistentVolumeClaim: { claimName: 'media' } },
    ]);
    expect(pod?.containers[0]?.volumeMounts).toContainEqual({ name: 'host-1', mountPath: '/host', readOnly: true });
    const cache = find<V1PersistentVolumeClaim>(objects, 'PersistentVolumeClaim', 'cache');
    expect(cache.spec?.accessModes).toEqual(['ReadWriteOnce']);
    expect(cache.metadata.labels).toMatchObject({ [LABEL.volume]: 'cache', [LABEL.volumeKind]: 'named', [LABEL.service]: 'web' });
    const media = find<V1PersistentVolumeClaim>(objects, 'PersistentVolumeClaim', 'media');
    expect(media.spec).toEqual({ accessModes: ['ReadWriteMany'], resources: { requests: { storage: '10Gi' } }, storageClassName: 'nfs' });
    expect(media.metadata.labels?.[LABEL.service]).toBeUndefined();
  });

  it('health check → exec readiness and liveness probes; resources → requests and limits; entrypoint/command → command/args', () => {
    const spec = app({
      web: {
        image: 'nginx:1',
        entrypoint: ['/bin/server'],
        command: ['--port', '80'],
        env: { B: '2', A: '1' },
        healthCheck: { test: ['CMD-SHELL', 'nc -z localhost 80'], interval: '5s', timeout: '2s', retries: 4, startPeriod: '20s' },
        resources: { limits: { cpus: 0.5, memoryBytes: 268435456 }, reservations: { cpus: 0.25 } },
        user: '1000:2000',
        stopGracePeriod: '15s',
      },
    });
    const pod = find<V1Deployment>(allObjects(spec).objects, 'Deployment', 'web').spec?.template.spec;
    const c = pod?.containers[0];
    expect(c?.command).toEqual(['/bin/server']);
    expect(c?.args).toEqual(['--port', '80']);
    expect(c?.env).toEqual([
      { name: 'A', value: '1' },
      { name: 'B', value: '2' },
    ]);
    expect(c?.readinessProbe).toEqual({ exec: { command: ['/bin/sh', '-c', 'nc -z localhost 80'] }, periodSeconds: 5, timeoutSeconds: 2, failureThreshold: 4 });
    expect(c?.livenessProbe?.initialDelaySeconds).toBe(20);
    expect(c?.resources).toEqual({ limits: { cpu: '500m', memory: '268435456' }, requests: { cpu: '250m' } });
    expect(c?.securityContext).toEqual({ runAsUser: 1000, runAsGroup: 2000 });
    expect(pod?.terminationGracePeriodSeconds).toBe(15);
  });

  it('placement: node labels and hostnames → nodeSelector; other constraints and restart conditions → plan warnings', () => {
    const spec = app({
      web: {
        image: 'nginx:1',
        placement: { constraints: ['node.labels.zone==a', 'node.hostname==n1', 'node.role!=manager'], maxReplicasPerNode: 1 },
        restart: { condition: 'on-failure', maxAttempts: 3 },
      },
    });
    const { objects, warnings } = allObjects(spec);
    const pod = find<V1Deployment>(objects, 'Deployment', 'web').spec?.template.spec;
    expect(pod?.nodeSelector).toEqual({ zone: 'a', 'kubernetes.io/hostname': 'n1' });
    expect(pod?.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.[0]?.topologyKey).toBe('kubernetes.io/hostname');
    expect(warnings.map((w) => w.path).sort()).toEqual([
      'services.web.placement.constraints[2]',
      'services.web.restart.condition',
      'services.web.restart.maxAttempts',
    ]);
  });

  it('labels and annotations: the Berth labels, the canonical spec and a hash that only changes with the spec', () => {
    const spec = app({ web: { image: 'nginx:1' } }, { labels: { team: 'a' } });
    const { objects } = allObjects(spec);
    const d = find<V1Deployment>(objects, 'Deployment', 'web');
    expect(d.metadata.labels).toMatchObject({ [LABEL.app]: 'shop', [LABEL.service]: 'web', [LABEL.managedBy]: 'berth', team: 'a' });
    expect(d.metadata.annotations?.[LABEL.spec]).toBe(canonicalJson(spec.services.web));
    expect(JSON.parse(d.metadata.annotations?.[ANNOTATION.appContext] ?? '{}')).toEqual({ appLabels: { team: 'a' }, volumes: {} });
    const again = find<V1Deployment>(allObjects(app({ web: { image: 'nginx:1' } }, { labels: { team: 'a' } })).objects, 'Deployment', 'web');
    expect(again.metadata.annotations?.[LABEL.specHash]).toBe(d.metadata.annotations?.[LABEL.specHash]);
    const changed = find<V1Deployment>(allObjects(app({ web: { image: 'nginx:2' } }, { labels: { team: 'a' } })).objects, 'Deployment', 'web');
    expect(changed.metadata.annotations?.[LABEL.specHash]).not.toBe(d.metadata.annotations?.[LABEL.specHash]);
    // the hash covers the rendering, not only the ServiceSpec: a changed app label re-applies too
    const relabelled = find<V1Deployment>(allObjects(app({ web: { image: 'nginx:1' } }, { labels: { team: 'b' } })).objects, 'Deployment', 'web');
    expect(relabelled.metadata.annotations?.[LABEL.specHash]).not.toBe(d.metadata.annotations?.[LABEL.specHash]);
    expect(d.metadata.annotations?.[LABEL.specHash]).not.toBe(specHash(spec.services.web));
  });

  it('refuses reserved namespaces as app names', () => {
    for (const name of ['default', 'kube-system', 'kube-public']) {
      expect(() => renderApp(AppSpec.parse({ name, services: { web: { image: 'x' } } }))).toThrow(expect.objectContaining({ code: DriverErrorCode.Invalid }));
    }
  });
});

describe('jobs', () => {
  it('a run-once Job: parallelism, completions, backoffLimit, a deadline from the timeout, never restarted in place', () => {
    const spec = JobSpec.parse({
      name: 'migrate',
      app: 'shop',
      image: 'tool:1',
      command: ['migrate'],
      parallelism: 2,
      completions: 4,
      backoffLimit: 1,
      timeout: '90.5s',
    });
    const job = renderJob(spec, 'shop', 'job-migrate-abcde').object as V1Job & KubeObject;
    expect(job.metadata).toMatchObject({ name: 'job-migrate-abcde', namespace: 'shop', labels: { [LABEL.job]: 'migrate', [LABEL.app]: 'shop' } });
    expect(job.spec).toMatchObject({ parallelism: 2, completions: 4, backoffLimit: 1, activeDeadlineSeconds: 91 });
    expect(job.spec?.template.spec?.restartPolicy).toBe('Never');
    expect(job.spec?.template.spec?.containers[0]?.args).toEqual(['migrate']);
    expect(job.spec?.template.spec?.nodeSelector).toBeUndefined();
  });

  it("places a job's pods by its constraints, as a service's", () => {
    const spec = JobSpec.parse({ name: 'm', app: 'shop', image: 'x', placement: { constraints: ['node.labels.disk == ssd', 'node.hostname==n1'] } });
    const job = renderJob(spec, 'shop', 'job-m-1').object as V1Job & KubeObject;
    expect(job.spec?.template.spec?.nodeSelector).toEqual({ disk: 'ssd', 'kubernetes.io/hostname': 'n1' });
    const capped = renderJob(JobSpec.parse({ name: 'm', image: 'x', placement: { maxReplicasPerNode: 1 } }), 'berth-jobs', 'job-m-2');
    expect(capped.warnings).toEqual([expect.objectContaining({ path: 'job.placement.maxReplicasPerNode' })]);
  });
});

describe('node-level fields and Pod Security', () => {
  it('carries privileged mode, capabilities, host namespaces and devices into the pod', () => {
    const spec = app({
      agent: {
        image: 'agent:1',
        user: '1000',
        privileged: true,
        capAdd: ['NET_ADMIN'],
        capDrop: ['ALL'],
        hostNetwork: true,
        hostPid: true,
        hostIpc: true,
        devices: [{ source: '/dev/fuse', permissions: 'r' }],
      },
    });
    const pod = find<V1Deployment>(allObjects(spec).objects, 'Deployment', 'agent').spec!.template.spec!;
    expect(pod).toMatchObject({ hostNetwork: true, hostPID: true, hostIPC: true, dnsPolicy: 'ClusterFirstWithHostNet' });
    expect(pod.containers[0]!.securityContext).toEqual({ runAsUser: 1000, privileged: true, capabilities: { add: ['NET_ADMIN'], drop: ['ALL'] } });
    expect(pod.volumes).toContainEqual({ name: 'device-0', hostPath: { path: '/dev/fuse' } });
    expect(pod.containers[0]!.volumeMounts).toContainEqual({ name: 'device-0', mountPath: '/dev/fuse', readOnly: true });
  });

  it('labels the namespace baseline, or privileged when a workload needs more, and app labels cannot override it', () => {
    const enforce = (s: AppSpec) => renderApp(s).namespace.object.metadata.labels!['pod-security.kubernetes.io/enforce'];
    const plain = app({ web: { image: 'x' } }, { labels: { 'pod-security.kubernetes.io/enforce': 'privileged' } });
    expect(enforce(plain)).toBe('baseline');
    expect(enforce(app({ web: { image: 'x' }, agent: { image: 'y', volumes: [{ type: 'hostPath', source: '/srv/data', target: '/d' }] } }))).toBe('privileged');
    expect(enforce(app({ web: { image: 'x', capAdd: ['SYS_ADMIN'] } }))).toBe('privileged');
  });

  it('leaves a spec without them as it rendered before', () => {
    const pod = find<V1Deployment>(allObjects(app({ web: { image: 'x' } })).objects, 'Deployment', 'web').spec!.template.spec!;
    expect(pod.containers[0]!.securityContext).toBeUndefined();
    expect(pod.hostNetwork).toBeUndefined();
  });
});
