import { describe, expect, it } from '@jest/globals';
import {
  AppSpec,
  DEFAULT_WORKLOAD_POLICY,
  JobSpec,
  WorkloadPolicy,
  type AppSpecInput,
  type ServiceSpecInput,
  checkAppSpec,
  checkJobSpec,
  checkVolumeCreate,
  imageRepository,
  importCompose,
  normalizeHostPath,
  podSecurityLevel,
} from '@berth/model';

const app = (web: Partial<ServiceSpecInput>, extra: Partial<AppSpecInput> = {}) =>
  AppSpec.parse({ name: 'shop', services: { web: { image: 'nginx:1.27', ...web } }, ...extra });
const hostMount = (source: string, readOnly = false) => ({ volumes: [{ type: 'hostPath' as const, source, target: '/mnt', readOnly }] });
const rules = (spec: AppSpec, policy = DEFAULT_WORKLOAD_POLICY) => checkAppSpec(spec, policy).map((v) => `${v.path} ${v.rule}`);

describe('workload policy: the default', () => {
  it('allows an ordinary service: image, named volume, ingress and high host ports, baseline capabilities, dropped ones', () => {
    const spec = app({
      volumes: [{ type: 'named', source: 'data', target: '/data' }],
      ports: [
        { target: 80, published: 80 },
        { target: 8080, published: 8080, mode: 'host' },
      ],
      capAdd: ['NET_BIND_SERVICE', 'cap_chown'],
      capDrop: ['ALL'],
    });
    expect(checkAppSpec(spec, DEFAULT_WORKLOAD_POLICY)).toEqual([]);
  });

  it('refuses every host path, naming the field and the rule', () => {
    expect(rules(app(hostMount('/srv/data')))).toEqual(['services.web.volumes[0].source hostPath.notAllowed']);
  });

  it('refuses node-level powers, one entry per field', () => {
    const spec = app({
      privileged: true,
      capAdd: ['SYS_ADMIN', 'CHOWN', 'ALL'],
      hostNetwork: true,
      hostPid: true,
      hostIpc: true,
      devices: [{ source: '/dev/fuse' }],
      ports: [
        { target: 22, published: 22, mode: 'host' },
        { target: 53, mode: 'host' },
      ],
    });
    expect(rules(spec)).toEqual([
      'services.web.privileged privileged',
      'services.web.capAdd[0] capabilities',
      'services.web.capAdd[2] capabilities',
      'services.web.hostNetwork hostNetwork',
      'services.web.hostPid hostPid',
      'services.web.hostIpc hostIpc',
      'services.web.devices devices',
      'services.web.ports[0].published lowHostPorts',
      'services.web.ports[1].target lowHostPorts',
    ]);
  });

  it('treats a local bind volume as the host path it is', () => {
    const spec = app(
      { volumes: [{ type: 'shared', source: 'etc', target: '/mnt' }] },
      { volumes: { etc: { driver: 'local', driverOptions: { type: 'none', o: 'bind', device: '/opt/etc' } } } },
    );
    expect(rules(spec)).toEqual(['volumes.etc.driverOptions.device hostPath.notAllowed']);
    expect(checkVolumeCreate('shop', { driverOptions: { o: 'bind', device: '/' } }, DEFAULT_WORKLOAD_POLICY).map((v) => `${v.path} ${v.rule}`)).toEqual([
      'driverOptions.device hostPath.root',
    ]);
    // NFS options are not a host path
    expect(checkVolumeCreate('shop', { driverOptions: { type: 'nfs', o: 'addr=10.0.0.1,rw', device: ':/export' } }, DEFAULT_WORKLOAD_POLICY)).toEqual([]);
  });

  it('checks a job the same way', () => {
    const job = JobSpec.parse({ name: 'backup', app: 'shop', image: 'x', volumes: [{ type: 'hostPath', source: '/var/run/docker.sock', target: '/s' }] });
    expect(checkJobSpec(job, DEFAULT_WORKLOAD_POLICY).map((v) => `${v.path} ${v.rule}`)).toEqual(['volumes[0].source hostPath.protected']);
  });
});

describe('workload policy: host path allowances', () => {
  const policy = WorkloadPolicy.parse({ hostPaths: [{ prefix: '/srv/data/' }, { prefix: '/var/log', readOnly: true }] });

  it('allows the prefix and below it, segment by segment', () => {
    expect(rules(app(hostMount('/srv/data/x')), policy)).toEqual([]);
    expect(rules(app(hostMount('/srv/data')), policy)).toEqual([]);
    expect(rules(app(hostMount('/srv/data//x/')), policy)).toEqual([]);
    expect(rules(app(hostMount('/srv/database')), policy)).toEqual(['services.web.volumes[0].source hostPath.notAllowed']);
    expect(rules(app(hostMount('/srv')), policy)).toEqual(['services.web.volumes[0].source hostPath.notAllowed']);
    expect(rules(app(hostMount('/opt')), policy)).toEqual(['services.web.volumes[0].source hostPath.notAllowed']);
    // /etc holds the kubelet's credentials (/etc/kubernetes): never mountable, whatever the prefixes
    expect(rules(app(hostMount('/etc')), policy)).toEqual(['services.web.volumes[0].source hostPath.protected']);
  });

  it('refuses ".." and "." instead of guessing where they lead', () => {
    expect(rules(app(hostMount('/srv/data/../../etc')), policy)).toEqual(['services.web.volumes[0].source hostPath.dotSegments']);
    expect(rules(app(hostMount('/srv/data/./x')), policy)).toEqual(['services.web.volumes[0].source hostPath.dotSegments']);
    expect(normalizeHostPath('/srv/data/../../etc/')).toBe('/etc');
  });

  it('enforces read-only prefixes', () => {
    expect(rules(app(hostMount('/var/log/app')), policy)).toEqual(['services.web.volumes[0].source hostPath.readOnly']);
    expect(rules(app(hostMount('/var/log/app', true)), policy)).toEqual([]);
  });

  it('never mounts /, the engine sockets or the orchestrator state, even when a prefix covers them', () => {
    const wide = WorkloadPolicy.parse({ hostPaths: [{ prefix: '/' }] });
    expect(rules(app(hostMount('/')), wide)).toEqual(['services.web.volumes[0].source hostPath.root']);
    expect(rules(app(hostMount('//')), wide)).toEqual(['services.web.volumes[0].source hostPath.root']);
    for (const p of [
      '/var/run/docker.sock',
      '/run/docker.sock',
      '/run/containerd/containerd.sock',
      '/var/lib/kubelet/pods',
      '/var/lib/docker/volumes/other_data/_data',
      '/var',
      '/run',
      '/proc/1/root',
    ]) {
      expect(rules(app(hostMount(p)), wide)).toEqual(['services.web.volumes[0].source hostPath.protected']);
    }
    expect(rules(app(hostMount('/srv/x')), wide)).toEqual([]);
  });

  it('widens the cluster policy for one app only', () => {
    const perApp = WorkloadPolicy.parse({ apps: { shop: { hostPaths: [{ prefix: '/srv/shop' }], capabilities: ['NET_ADMIN'] } } });
    const spec = app({ ...hostMount('/srv/shop/cache'), capAdd: ['NET_ADMIN'] });
    expect(rules(spec, perApp)).toEqual([]);
    const other = AppSpec.parse({ ...spec, name: 'blog' });
    expect(rules(other, perApp)).toEqual(['services.web.volumes[0].source hostPath.notAllowed', 'services.web.capAdd[0] capabilities']);
  });

  it('checks only the services a change writes when asked', () => {
    const spec = AppSpec.parse({ name: 'shop', services: { web: { image: 'x', privileged: true }, db: { image: 'y' } } });
    expect(checkAppSpec(spec, DEFAULT_WORKLOAD_POLICY, ['db'])).toEqual([]);
    expect(checkAppSpec(spec, DEFAULT_WORKLOAD_POLICY, ['web'])).toHaveLength(1);
  });
});

describe('workload policy: the document', () => {
  it('accepts the README example and refuses unknown fields by name', () => {
    const readme = WorkloadPolicy.parse({ hostPaths: [{ prefix: '/srv/data' }], apps: { metrics: { capabilities: ['NET_ADMIN'] } } });
    expect(readme.apps.metrics).toMatchObject({ capabilities: ['NET_ADMIN'], privileged: false });
    expect(WorkloadPolicy.safeParse({ hostpaths: [] }).success).toBe(false);
    expect(WorkloadPolicy.safeParse({ hostPaths: [{ prefix: '/srv/../etc' }] }).success).toBe(false);
  });
});

describe('workload policy: images', () => {
  it('normalises image names as Docker does', () => {
    expect(imageRepository('nginx:1.27')).toBe('docker.io/library/nginx');
    expect(imageRepository('berth-test/http:1')).toBe('docker.io/berth-test/http');
    expect(imageRepository('localhost:5000/app@sha256:abc')).toBe('localhost:5000/app');
    expect(imageRepository('ghcr.io/acme/api:2')).toBe('ghcr.io/acme/api');
  });

  it('allows only listed registries and repositories when a list is set', () => {
    const policy = WorkloadPolicy.parse({ images: ['ghcr.io/acme', 'nginx', 'registry.local:5000'] });
    expect(rules(app({ image: 'ghcr.io/acme/api:2' }), policy)).toEqual([]);
    expect(rules(app({ image: 'nginx:1.27' }), policy)).toEqual([]);
    expect(rules(app({ image: 'registry.local:5000/x/y:1' }), policy)).toEqual([]);
    expect(rules(app({ image: 'ghcr.io/acme-evil/api' }), policy)).toEqual(['services.web.image images']);
    expect(rules(app({ image: 'nginx-evil:1' }), policy)).toEqual(['services.web.image images']);
    expect(rules(app({ image: 'busybox' }), policy)).toEqual(['services.web.image images']);
  });
});

describe('Compose carries node-level fields', () => {
  it('maps privileged, cap_add, cap_drop, host namespaces and devices, so the policy sees them', () => {
    const { spec, warnings } = importCompose(
      [
        'name: ops',
        'services:',
        '  agent:',
        '    image: agent:1',
        '    privileged: true',
        '    cap_add: [SYS_ADMIN, CAP_NET_ADMIN]',
        '    cap_drop: [ALL]',
        '    network_mode: host',
        '    pid: host',
        '    ipc: host',
        '    devices: ["/dev/fuse", "/dev/sda:/dev/xvda:r"]',
      ].join('\n'),
    );
    const agent = spec.services.agent!;
    expect(agent).toMatchObject({
      privileged: true,
      capAdd: ['SYS_ADMIN', 'NET_ADMIN'],
      capDrop: ['ALL'],
      hostNetwork: true,
      hostPid: true,
      hostIpc: true,
      devices: [
        { source: '/dev/fuse', permissions: 'rwm' },
        { source: '/dev/sda', target: '/dev/xvda', permissions: 'r' },
      ],
    });
    expect(warnings).toEqual([]);
    expect(rules(spec).length).toBe(7);
  });

  it('says what it drops of network_mode', () => {
    const { spec, warnings } = importCompose('name: ops\nservices:\n  a:\n    image: x\n    network_mode: "service:b"\n');
    expect(spec.services.a!.hostNetwork).toBeUndefined();
    expect(warnings.map((w) => w.path)).toEqual(['services.a.network_mode']);
  });

  it('leaves the hash of a spec without them unchanged', () => {
    expect(Object.keys(app({}).services.web!)).not.toContain('privileged');
  });
});

describe('Pod Security level', () => {
  it('is baseline for ordinary workloads and privileged for what baseline forbids', () => {
    expect(podSecurityLevel([app({ capAdd: ['CHOWN'], ports: [{ target: 80, published: 80 }] }).services.web!])).toBe('baseline');
    expect(podSecurityLevel([app(hostMount('/srv/data')).services.web!])).toBe('privileged');
    expect(podSecurityLevel([app({ ports: [{ target: 8080, published: 8080, mode: 'host' }] }).services.web!])).toBe('privileged');
    expect(podSecurityLevel([app({ capAdd: ['NET_ADMIN'] }).services.web!])).toBe('privileged');
  });
});
