import Dockerode from 'dockerode';
import type { ClusterConnection } from '@berth/driver';
import { chunksOf } from './docker-stream.js';
import { toDriverError } from './swarm-errors.js';
import type {
  EngineContainer,
  EngineInfo,
  EngineNetwork,
  EngineNode,
  EngineSecret,
  EngineService,
  EngineServiceSpec,
  EngineStats,
  EngineTask,
  EngineVolume,
  Labels,
} from './swarm-engine.types.js';

export type SwarmConnection = Extract<ClusterConnection, { kind: 'swarm' }>;

/** Engine list filters: `{ label: ['k=v'], name: ['x'] }`. */
export type Filters = Record<string, string[]>;

const DEFAULT_SOCKET = '/var/run/docker.sock';

/**
 * dockerode options for a connection. `version` stays unset on purpose: dockerode does not negotiate
 * the API version, and a pinned one newer than the engine's (Docker 20.10 speaks 1.41) gets HTTP 400.
 * No `timeout` either: it would cut the long-lived /events and log streams.
 */
export function dockerOptions(conn: SwarmConnection): Dockerode.DockerOptions {
  if (!conn.host) return { socketPath: conn.socketPath || DEFAULT_SOCKET };
  const url = new URL(conn.host.includes('://') ? conn.host : `tcp://${conn.host}`);
  const tls = conn.tls;
  return {
    host: url.hostname,
    port: conn.port ?? (url.port ? Number(url.port) : tls ? 2376 : 2375),
    protocol: tls ? 'https' : 'http',
    ...(tls?.ca ? { ca: tls.ca } : {}),
    ...(tls?.cert ? { cert: tls.cert } : {}),
    ...(tls?.key ? { key: tls.key } : {}),
  };
}

/**
 * The engine calls the driver makes, typed with the engine's own shapes and failing only with
 * DriverError. The one place dockerode is used.
 */
export class SwarmEngine {
  private readonly docker: Dockerode;

  constructor(conn: SwarmConnection) {
    this.docker = new Dockerode(dockerOptions(conn));
  }

  private async call<T>(what: string, request: () => Promise<unknown>): Promise<T> {
    try {
      return (await request()) as T;
    } catch (err) {
      throw toDriverError(err, what);
    }
  }

  version(): Promise<{ Version: string; ApiVersion: string }> {
    return this.call('engine version', () => this.docker.version());
  }

  info(): Promise<EngineInfo> {
    return this.call('engine info', () => this.docker.info());
  }

  listNodes(): Promise<EngineNode[]> {
    return this.call('swarm nodes', () => this.docker.listNodes());
  }

  /** Always with `status`: ServiceStatus (running/desired/completed tasks) comes only with it. */
  listServices(filters: Filters): Promise<EngineService[]> {
    return this.call('services', () => this.docker.listServices({ filters, status: true }));
  }

  /** A service by exact name (the engine's name filter matches prefixes). */
  async findService(name: string): Promise<EngineService | undefined> {
    return (await this.listServices({ name: [name] })).find((s) => s.Spec.Name === name);
  }

  async createService(spec: EngineServiceSpec): Promise<string> {
    const created = await this.call<{ id: string }>(`service "${spec.Name}"`, () =>
      this.docker.createService(spec as unknown as Dockerode.CreateServiceOptions),
    );
    return created.id;
  }

  /** The full spec, with the version read: the engine refuses a stale one ("update out of sequence"). */
  async updateService(id: string, version: number, spec: EngineServiceSpec): Promise<void> {
    // _query/_body keep the spec out of the URL (dockerode otherwise sends it in both).
    await this.call(`service "${spec.Name}"`, () => this.docker.getService(id).update({ _query: { version }, _body: spec }));
  }

  async removeService(id: string, name: string): Promise<void> {
    await this.call(`service "${name}"`, () => this.docker.getService(id).remove());
  }

  listTasks(filters: Filters): Promise<EngineTask[]> {
    return this.call('tasks', () => this.docker.listTasks({ filters }));
  }

  listSecrets(filters: Filters): Promise<EngineSecret[]> {
    return this.call('secrets', () => this.docker.listSecrets({ filters }));
  }

  /** The value travels base64-encoded in the request body only. */
  async createSecret(name: string, value: string, labels: Labels): Promise<string> {
    const created = await this.call<{ id?: string; ID?: string }>(`secret "${name}"`, () =>
      this.docker.createSecret({ Name: name, Labels: labels, Data: Buffer.from(value, 'utf8').toString('base64') }),
    );
    return created.id ?? created.ID ?? '';
  }

  async removeSecret(id: string, name: string): Promise<void> {
    await this.call(`secret "${name}"`, () => this.docker.getSecret(id).remove());
  }

  listNetworks(filters: Filters): Promise<EngineNetwork[]> {
    return this.call('networks', () => this.docker.listNetworks({ filters }));
  }

  async createOverlayNetwork(name: string, labels: Labels): Promise<string> {
    const network = await this.call<{ id: string }>(`network "${name}"`, () =>
      this.docker.createNetwork({ Name: name, Driver: 'overlay', Attachable: true, CheckDuplicate: true, Labels: labels }),
    );
    return network.id;
  }

  async removeNetwork(id: string, name: string): Promise<void> {
    await this.call(`network "${name}"`, () => this.docker.getNetwork(id).remove());
  }

  async listVolumes(filters: Filters): Promise<EngineVolume[]> {
    const answer = await this.call<{ Volumes: EngineVolume[] | null }>('volumes', () => this.docker.listVolumes({ filters }));
    return answer.Volumes ?? [];
  }

  inspectVolume(name: string): Promise<EngineVolume> {
    return this.call(`volume "${name}"`, () => this.docker.getVolume(name).inspect());
  }

  async createVolume(name: string, driver: string, options: Record<string, string> | undefined, labels: Labels): Promise<EngineVolume> {
    await this.call(`volume "${name}"`, () => this.docker.createVolume({ Name: name, Driver: driver, DriverOpts: options ?? {}, Labels: labels }));
    return this.inspectVolume(name);
  }

  async removeVolume(name: string): Promise<void> {
    await this.call(`volume "${name}"`, () => this.docker.getVolume(name).remove());
  }

  listContainers(filters: Filters, all = false): Promise<EngineContainer[]> {
    return this.call('containers', () => this.docker.listContainers({ all, filters }));
  }

  async removeContainer(id: string): Promise<void> {
    await this.call(`container ${id.slice(0, 12)}`, () => this.docker.getContainer(id).remove({ force: true, v: true }));
  }

  /** One sample: the engine reads twice, a second apart, so CPU deltas are filled in. */
  containerStats(id: string): Promise<EngineStats> {
    return this.call(`stats of container ${id.slice(0, 12)}`, () => this.docker.getContainer(id).stats({ stream: false }));
  }

  /** The multiplexed log stream of a service's tasks (a buffer when not following). */
  async serviceLogs(
    id: string,
    name: string,
    options: { follow: boolean; tail?: number; since?: string; signal?: AbortSignal },
  ): Promise<AsyncIterable<Buffer>> {
    const body = await this.call<Buffer | AsyncIterable<Buffer>>(`logs of service "${name}"`, () =>
      this.docker.getService(id).logs({
        stdout: true,
        stderr: true,
        // details carry the task id of each line (which replica wrote it); timestamps give its time
        details: true,
        timestamps: true,
        follow: options.follow,
        ...(options.tail !== undefined ? { tail: options.tail } : {}),
        ...(options.since ? { since: options.since } : {}),
        ...(options.signal ? { abortSignal: options.signal } : {}),
      } as Dockerode.ContainerLogsOptions),
    );
    return chunksOf(body);
  }

  /** The /events stream from `since` ("seconds.nanoseconds"), until the signal aborts. */
  async events(options: { since?: string; signal?: AbortSignal; filters?: Filters }): Promise<AsyncIterable<Buffer>> {
    const stream = await this.call<AsyncIterable<Buffer>>('event stream', () =>
      this.docker.getEvents({
        ...(options.since ? { since: options.since as unknown as number } : {}),
        ...(options.filters ? { filters: options.filters } : {}),
        ...(options.signal ? { abortSignal: options.signal } : {}),
      } as Dockerode.GetEventsOptions),
    );
    return chunksOf(stream);
  }
}
