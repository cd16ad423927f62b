import type { ServiceRef } from '@berth/driver';
import type { NativeMount, NativeProbe } from './conformance.js';
import type { InMemoryCluster, MemReplica, MemService, MemVolume } from './in-memory-cluster.js';

/**
 * Reads an InMemoryCluster's state directly, bypassing the driver, as the real probes read the
 * engine or the API server: what the suite asserts is the simulated orchestrator's state.
 */
export class InMemoryNativeProbe implements NativeProbe {
  readonly sharedVolume = { driver: 'local', storageClass: 'memory' };
  readonly hostPath = '/tmp';

  constructor(
    private readonly cluster: InMemoryCluster,
    private readonly kind: 'swarm' | 'kubernetes' = 'swarm',
  ) {}

  private service(ref: ServiceRef): MemService {
    const svc = this.cluster.service(ref.app, ref.service);
    if (!svc) throw new Error(`no service ${ref.app}/${ref.service} on the in-memory cluster`);
    return svc;
  }

  private ready(svc: MemService): MemReplica[] {
    return this.cluster
      .liveReplicas(svc)
      .filter((r) => r.ready)
      .sort((a, b) => a.slot - b.slot);
  }

  async replicaImages(ref: ServiceRef): Promise<string[]> {
    const svc = this.cluster.service(ref.app, ref.service);
    return svc ? this.ready(svc).map((r) => r.spec.image) : [];
  }

  async desiredImage(ref: ServiceRef): Promise<string> {
    return this.service(ref).spec.image;
  }

  async mounts(ref: ServiceRef): Promise<NativeMount[]> {
    return this.service(ref).spec.volumes.map((v) => ({ type: v.type, ...('source' in v ? { source: v.source } : {}), target: v.target }));
  }

  async checkDiscovery(app: string, from: string, to: string, dnsName: string): Promise<void> {
    this.service({ app, service: from });
    const target = this.service({ app, service: to });
    const expected = this.kind === 'swarm' ? to : `${to}.${app}.svc.cluster.local`;
    if (dnsName !== expected) throw new Error(`"${to}" resolves as "${expected}" inside app ${app}, not as "${dnsName}"`);
    if (!this.ready(target).length) throw new Error(`"${to}" has no ready replica for "${from}" to reach`);
  }

  /** The volume a replica's mount of `path` resolves to, and the path inside it. */
  private volumeAt(ref: ServiceRef, path: string): { volume: MemVolume; inside: string } {
    const svc = this.service(ref);
    const replica = this.ready(svc).find((r) => r.slot === 1);
    if (!replica) throw new Error(`replica 1 of ${ref.service} is not running`);
    const mount = replica.spec.volumes.find((v) => (v.type === 'named' || v.type === 'shared') && path.startsWith(`${v.target}/`));
    if (!mount || (mount.type !== 'named' && mount.type !== 'shared')) throw new Error(`${path} is not on a volume of ${ref.service}`);
    const name = this.cluster.mountedVolume(svc, replica, mount.source, mount.type);
    const volume = this.cluster.volume(ref.app, name);
    if (!volume) throw new Error(`volume ${name} of ${ref.app} does not exist`);
    return { volume, inside: path.slice(mount.target.length) };
  }

  async writeFile(ref: ServiceRef, path: string, content: string): Promise<void> {
    const { volume, inside } = this.volumeAt(ref, path);
    volume.files.set(inside, content);
  }

  async readFile(ref: ServiceRef, path: string): Promise<string> {
    const { volume, inside } = this.volumeAt(ref, path);
    const content = volume.files.get(inside);
    if (content === undefined) throw new Error(`${path}: no such file in volume ${volume.name}`);
    return content;
  }

  async secretFile(ref: ServiceRef, file: string): Promise<string> {
    const replica = this.ready(this.service(ref))[0];
    if (!replica) throw new Error(`${ref.service} has no ready replica`);
    const mount = replica.spec.secrets.find((s) => (s.target ?? s.source) === file);
    if (!mount) throw new Error(`${ref.service} mounts no secret at /run/secrets/${file}`);
    const value = this.cluster.secretValue(ref.app, mount.source, mount.version ?? '');
    if (value === undefined) throw new Error(`secret ${mount.source}@${mount.version} of ${ref.app} does not exist`);
    return value;
  }

  async checkPerReplicaStorage(ref: ServiceRef, volume: string): Promise<void> {
    const svc = this.service(ref);
    if (!svc.spec.stateful) throw new Error(`${ref.service} is not stateful`);
    const replicas = this.cluster.liveReplicas(svc);
    if (replicas.length !== this.cluster.desiredReplicas(svc)) throw new Error(`${ref.service} runs ${replicas.length} replicas, not ${svc.spec.replicas}`);
    const names = replicas.map((r) => this.cluster.mountedVolume(svc, r, volume, 'named'));
    if (new Set(names).size !== names.length) throw new Error(`replicas of ${ref.service} share a volume: ${names.join(', ')}`);
    for (const name of names) if (!this.cluster.volume(ref.app, name)) throw new Error(`volume ${name} of ${ref.app} does not exist`);
  }

  async leftovers(app: string, includeVolumes: boolean): Promise<string[]> {
    return [
      ...this.cluster.servicesOf(app).map((s) => `service/${s.name}`),
      ...[...this.cluster.jobs.values()].filter((j) => j.app === app).map((j) => `job/${j.name}`),
      ...[...(this.cluster.secrets.get(app)?.keys() ?? [])].map((k) => `secret/${k}`),
      ...(this.cluster.apps.has(app) ? [this.kind === 'swarm' ? `network/${app}_default` : `Namespace/${app}`] : []),
      ...(includeVolumes ? this.cluster.volumesOf(app).map((v) => `volume/${v.name}`) : []),
    ];
  }
}
