import { randomBytes } from 'node:crypto';
import { DnsLabel, parseDuration, specHash, type AppSpec, type JobSpec, type ServiceSpec, type VolumeMount } from '@berth/model';
import {
  DriverError,
  DriverErrorCode,
  LABEL,
  READ_MODEL_OFF,
  MANAGER,
  TERMINAL_ROLLOUT_STATES,
  fieldChanges,
  rolloutBatches,
  isStreamMethod,
  type AppSummary,
  type ApplyResult,
  type ClusterEvent,
  type ClusterHealth,
  type ClusterInfo,
  type Endpoint,
  type EventOptions,
  type FollowOptions,
  type JobRef,
  type JobStatus,
  type LogLine,
  type LogOptions,
  type OrchestratorDriver,
  type OrchestratorKind,
  type Plan,
  type PlannedObject,
  type ReadModelStatus,
  type RemoveOptions,
  type RolloutStatus,
  type SecretValue,
  type ServiceRef,
  type ServiceStatus,
  type StatsSample,
  type VolumeCreate,
  type VolumeInfo,
} from '@berth/driver';
import { templateHash, type InMemoryCluster, type MemJob, type MemReplica, type MemService, type MemVolume } from './in-memory-cluster.js';

export interface InMemoryDriverOptions {
  /** Which orchestrator it stands in for: native names, object kinds and NotFound/idempotency details follow it. Default "swarm". */
  kind?: OrchestratorKind;
  /** Orchestrator version reported by info(). */
  version?: string;
  /** false: stats() fails with Unsupported, as on a Kubernetes cluster without metrics-server. Default true. */
  stats?: boolean;
}

/** The app jobs without one run in, as the real drivers name it. */
const DEFAULT_JOB_APP: Record<OrchestratorKind, string> = { swarm: 'default', kubernetes: 'berth-jobs' };

/** Batches done and total, the way both real drivers count them from the policy's parallelism. */
/** Log "since": a duration back from now ("10m"), an RFC 3339 time, or Unix seconds; as epoch ms. */
function sinceMs(since: string): number {
  if (/^\d+(\.\d+)?$/.test(since)) return Number(since) * 1000;
  const ago = parseDuration(since);
  const ms = ago !== undefined ? Date.now() - ago : Date.parse(since);
  if (Number.isNaN(ms)) {
    throw new DriverError(DriverErrorCode.Invalid, `log "since" must be a duration like "10m", an RFC 3339 time or Unix seconds, got "${since}"`);
  }
  return ms;
}

/**
 * The OrchestratorDriver over an InMemoryCluster. It keeps no state of its own (everything is on
 * the cluster), so a second driver over the same cluster (a restarted gateway) sees and follows
 * what the first one started. Use createInMemoryDriver, which adds the cluster's test hooks.
 */
export class InMemoryDriver implements OrchestratorDriver {
  readonly kind: OrchestratorKind;
  private readonly closing = new AbortController();

  constructor(
    readonly cluster: InMemoryCluster,
    private readonly options: InMemoryDriverOptions = {},
  ) {
    this.kind = options.kind ?? 'swarm';
  }

  private signal(signal?: AbortSignal): AbortSignal {
    return signal ? AbortSignal.any([signal, this.closing.signal]) : this.closing.signal;
  }

  private get swarm(): boolean {
    return this.kind === 'swarm';
  }

  // ------------------------------------------------------------------ native naming

  private workloadKind(spec: ServiceSpec): string {
    if (this.swarm) return 'service';
    return spec.stateful ? 'StatefulSet' : spec.mode === 'global' ? 'DaemonSet' : 'Deployment';
  }

  private nativeServiceName(app: string, service: string): string {
    return this.swarm ? `${app}_${service}` : service;
  }

  private appObject(app: string): { kind: string; name: string } {
    return this.swarm ? { kind: 'network', name: `${app}_default` } : { kind: 'Namespace', name: app };
  }

  private nativeObject(app: string, service: string, spec: ServiceSpec): unknown {
    return {
      kind: this.workloadKind(spec),
      name: this.nativeServiceName(app, service),
      labels: { [LABEL.managedBy]: MANAGER, [LABEL.app]: app, [LABEL.service]: service, [LABEL.specHash]: specHash(spec) },
      spec,
    };
  }

  // ------------------------------------------------------------------ cluster

  async info(): Promise<ClusterInfo> {
    return {
      kind: this.kind,
      version: this.options.version ?? (this.swarm ? '27.5.1-memory' : 'v1.33.0-memory'),
      ...(this.swarm ? { apiVersion: '1.47' } : {}),
      nodes: this.cluster.nodes.map((name, i) => ({
        id: `id-${name}`,
        name,
        role: i === 0 ? (this.swarm ? 'manager' : 'control-plane') : 'worker',
        status: 'ready',
        ...(this.swarm ? { availability: 'active' as const } : {}),
        address: `192.168.0.${i + 10}`,
        labels: {},
        cpus: 2,
        memoryBytes: 8 * 1024 ** 3,
      })),
    };
  }

  async health(): Promise<ClusterHealth> {
    return { status: 'healthy', latencyMs: 0 };
  }

  // ------------------------------------------------------------------ apps

  async plan(spec: AppSpec): Promise<Plan> {
    const app = spec.name;
    const objects: PlannedObject[] = [];
    const appObject = this.appObject(app);
    objects.push(
      this.cluster.apps.has(app)
        ? { action: 'unchanged', ...appObject, changes: [] }
        : { action: 'create', ...appObject, changes: [], object: { ...appObject, labels: { ...spec.labels, [LABEL.app]: app } } },
    );
    for (const [name, svc] of Object.entries(spec.services)) {
      const live = this.cluster.service(app, name);
      const base = { kind: this.workloadKind(svc), name: this.nativeServiceName(app, name), service: name };
      const object = this.nativeObject(app, name, svc);
      if (!live) objects.push({ ...base, action: 'create', changes: fieldChanges(undefined, object), object });
      else if (specHash(live.spec) === specHash(svc)) objects.push({ ...base, action: 'unchanged', changes: [] });
      else objects.push({ ...base, action: 'update', changes: fieldChanges(live.spec, svc), object });
    }
    for (const live of this.cluster.servicesOf(app).filter((s) => !(s.name in spec.services))) {
      objects.push({ action: 'delete', kind: this.workloadKind(live.spec), name: this.nativeServiceName(app, live.name), service: live.name, changes: [] });
    }
    return { app, changed: objects.some((o) => o.action !== 'unchanged'), objects, warnings: [] };
  }

  async apply(spec: AppSpec): Promise<ApplyResult> {
    const plan = await this.plan(spec);
    if (!plan.changed) return { ...plan, rollingServices: [] };
    const app = spec.name;
    const writes = plan.objects.filter((o) => o.service && (o.action === 'create' || o.action === 'update'));
    // refused before anything is written, as a pod (or task) whose secret is missing never starts
    this.cluster.requireSecrets(
      app,
      writes.map((o) => spec.services[o.service!]!),
    );
    this.cluster.apps.add(app);
    for (const svc of Object.values(spec.services)) {
      for (const v of svc.volumes) {
        if (v.type !== 'shared') continue;
        const def = spec.volumes[v.source];
        this.cluster.ensureVolume(app, v.source, 'shared', { ...def, labels: def?.labels ?? {} });
      }
    }
    const rollingServices: string[] = [];
    for (const o of plan.objects) {
      if (!o.service) continue;
      const live = this.cluster.service(app, o.service);
      if (o.action === 'create') {
        this.cluster.createService(app, o.service, spec.services[o.service]!);
        rollingServices.push(o.service);
      } else if (o.action === 'update' && live) {
        if (this.cluster.writeService(live, spec.services[o.service]!)) rollingServices.push(o.service);
      } else if (o.action === 'delete' && live) {
        this.cluster.removeService(live);
      }
    }
    return { ...plan, rollingServices };
  }

  async remove(app: string, options: RemoveOptions = {}): Promise<{ removed: string[] }> {
    return { removed: this.cluster.removeApp(app, options.volumes ?? false) };
  }

  async ensureSecrets(app: string, secrets: SecretValue[]): Promise<void> {
    for (const s of secrets) this.cluster.writeSecret(app, s.name, s.version, s.value);
  }

  async listApps(): Promise<AppSummary[]> {
    const apps = new Map<string, string[]>();
    for (const s of this.cluster.servicesOf()) apps.set(s.app, [...(apps.get(s.app) ?? []), s.name]);
    for (const j of this.cluster.jobs.values()) if (!apps.has(j.app)) apps.set(j.app, []);
    return [...apps].map(([name, services]) => ({ name, services: services.sort() })).sort((a, b) => a.name.localeCompare(b.name));
  }

  // ------------------------------------------------------------------ services

  private require(ref: ServiceRef): MemService {
    const svc = this.cluster.service(ref.app, ref.service);
    if (!svc) throw DriverError.notFound(`service "${ref.service}" of app "${ref.app}"`);
    return svc;
  }

  private replicaName(svc: MemService, r: MemReplica): string {
    if (this.swarm) return String(r.slot);
    return svc.spec.stateful ? `${svc.name}-${r.slot - 1}` : `${svc.name}-${r.id.slice(0, 10)}`;
  }

  private status(svc: MemService): ServiceStatus {
    const { app, name, spec } = svc;
    const live = this.cluster.liveReplicas(svc);
    const dnsName = this.swarm ? name : `${name}.${app}.svc.cluster.local`;
    const perReplica = spec.stateful
      ? live.flatMap((r) => (this.swarm ? [`${spec.hostname ?? name}-${r.slot}`] : [`${name}-${r.slot - 1}`, `${name}-${r.slot - 1}.${dnsName}`]))
      : [];
    const endpoints: Endpoint[] = live
      .filter((r) => r.state !== 'failed')
      .sort((a, b) => a.slot - b.slot)
      .map((r) => ({
        id: r.id,
        replica: this.replicaName(svc, r),
        node: r.node,
        address: r.address,
        hostname: spec.hostname ? (spec.stateful ? `${spec.hostname}-${this.swarm ? r.slot : r.slot - 1}` : spec.hostname) : this.replicaName(svc, r),
        state: r.state,
        ready: r.ready,
        image: r.spec.image,
      }));
    const hash = specHash(spec);
    return {
      app,
      service: name,
      id: svc.id,
      version: String(svc.version),
      image: spec.image,
      mode: spec.mode,
      stateful: spec.stateful,
      replicas: this.counts(svc),
      discovery: {
        dnsName,
        aliases: [...(this.swarm ? [`tasks.${app}_${name}`] : []), ...perReplica],
        virtualIps: spec.stateful ? [] : [`10.96.${parseInt(svc.id.slice(0, 2), 16)}.${parseInt(svc.id.slice(2, 4), 16)}`],
        ports: spec.ports.map((p) => ({
          target: p.target,
          ...(p.published !== undefined ? { published: p.published } : {}),
          protocol: p.protocol,
          mode: p.mode,
        })),
        endpoints,
      },
      spec: structuredClone(spec),
      specHash: hash,
      rollout: this.rollout(svc),
      createdAt: svc.createdAt,
      updatedAt: svc.updatedAt,
    };
  }

  private counts(svc: MemService): ServiceStatus['replicas'] {
    const live = this.cluster.liveReplicas(svc);
    const target = templateHash(svc.spec);
    return {
      desired: this.cluster.desiredReplicas(svc),
      running: live.filter((r) => r.state === 'running').length,
      ready: live.filter((r) => r.ready).length,
      updated: live.filter((r) => r.state === 'running' && r.template === target).length,
    };
  }

  private rollout(svc: MemService): RolloutStatus {
    const r = svc.rollout;
    const replicas = this.counts(svc);
    const complete = r.state === 'completed' || r.state === 'rolled-back';
    return {
      state: r.state,
      ...(r.message ? { message: r.message } : {}),
      replicas,
      failed: r.failed,
      batches: rolloutBatches(r.policy.parallelism, replicas.desired, replicas.updated, complete),
      startedAt: r.startedAt,
      ...(r.completedAt ? { completedAt: r.completedAt } : {}),
    };
  }

  async listServices(app?: string): Promise<ServiceStatus[]> {
    return this.cluster
      .servicesOf(app)
      .map((s) => this.status(s))
      .sort((a, b) => a.app.localeCompare(b.app) || a.service.localeCompare(b.service));
  }

  async getService(ref: ServiceRef): Promise<ServiceStatus> {
    return this.status(this.require(ref));
  }

  async scale(ref: ServiceRef, replicas: number): Promise<void> {
    if (!Number.isInteger(replicas) || replicas < 0) {
      throw new DriverError(DriverErrorCode.Invalid, `replicas must be a whole number of at least 0, got ${replicas}`, [
        { path: 'replicas', message: 'expected a whole number >= 0' },
      ]);
    }
    const svc = this.require(ref);
    if (svc.spec.mode === 'global') {
      throw new DriverError(DriverErrorCode.Invalid, `service "${ref.service}" is global (one replica per node) and cannot be scaled: change its mode instead`);
    }
    if (svc.spec.replicas !== replicas) this.cluster.scaleService(svc, replicas);
  }

  /** A shared volume a write mounts must exist (declared and applied, or created): both real drivers refuse otherwise. */
  private requireShared(app: string, spec: { volumes: VolumeMount[] }): void {
    const missing = spec.volumes.filter((v) => v.type === 'shared' && !this.cluster.volume(app, v.source)).map((v) => (v as { source: string }).source);
    if (missing.length) {
      throw new DriverError(
        DriverErrorCode.Invalid,
        `shared volume(s) ${missing.map((n) => `"${n}"`).join(', ')} do not exist in app "${app}"; declare them under the app's volumes and apply the app, or create them first`,
        missing.map((n) => ({ path: 'volumes', message: `shared volume "${n}" does not exist` })),
      );
    }
  }

  private writeService(ref: ServiceRef, spec: ServiceSpec, reason: 'update' | 'rollback'): { changed: boolean } {
    const svc = this.require(ref);
    if (specHash(svc.spec) === specHash(spec)) return { changed: false };
    this.cluster.requireSecrets(ref.app, [spec]);
    this.requireShared(ref.app, spec);
    this.cluster.writeService(svc, spec, reason);
    return { changed: true };
  }

  async updateService(ref: ServiceRef, spec: ServiceSpec): Promise<{ changed: boolean }> {
    return this.writeService(ref, spec, 'update');
  }

  async rollbackService(ref: ServiceRef, spec: ServiceSpec): Promise<{ changed: boolean }> {
    return this.writeService(ref, spec, 'rollback');
  }

  async rolloutStatus(ref: ServiceRef): Promise<RolloutStatus> {
    return this.rollout(this.require(ref));
  }

  /**
   * Yields the rollout's state at every change until it ends. The cluster enforces the failure
   * action itself, so a follower after a restart (another driver) continues where the first was.
   */
  async *followRollout(ref: ServiceRef, options: FollowOptions = {}): AsyncGenerator<RolloutStatus> {
    const signal = this.signal(options.signal);
    let last: string | undefined;
    while (!signal.aborted) {
      const lost = this.cluster.connectionLost;
      if (lost) throw lost;
      const seen = this.cluster.changes;
      const status = this.rollout(this.require(ref));
      const key = JSON.stringify(status);
      if (key !== last) {
        last = key;
        yield status;
      }
      if (TERMINAL_ROLLOUT_STATES.has(status.state)) return;
      await this.cluster.nextChange(signal, seen);
    }
  }

  // ------------------------------------------------------------------ jobs

  async runJob(spec: JobSpec): Promise<JobRef> {
    const app = spec.app ?? DEFAULT_JOB_APP[this.kind];
    this.requireShared(app, spec);
    const name = `job-${spec.name}-${randomBytes(3).toString('hex')}`;
    this.cluster.startJob(app, name, spec);
    return { app, name };
  }

  private requireJob(ref: JobRef): MemJob {
    const job = this.cluster.job(ref.app, ref.name);
    if (!job) throw DriverError.notFound(`job run "${ref.name}" of app "${ref.app}"`);
    return job;
  }

  async jobStatus(ref: JobRef): Promise<JobStatus> {
    const job = this.requireJob(ref);
    const count = (state: string) => job.runs.filter((r) => r.state === state).length;
    return {
      app: job.app,
      name: job.name,
      state: job.state,
      ...(job.message ? { message: job.message } : {}),
      completions: { desired: job.spec.completions, succeeded: count('succeeded'), failed: count('failed'), active: count('running') },
      runs: job.runs.map((r) => ({
        id: r.id,
        state: r.state,
        ...(r.exitCode !== undefined ? { exitCode: r.exitCode } : {}),
        node: r.node,
        startedAt: r.startedAt,
        ...(r.finishedAt ? { finishedAt: r.finishedAt } : {}),
      })),
      startedAt: job.startedAt,
      ...(job.completedAt ? { completedAt: job.completedAt } : {}),
    };
  }

  /** Kubernetes answers NotFound for a missing job; Swarm's driver treats it as removed already. */
  async removeJob(ref: JobRef): Promise<void> {
    const job = this.cluster.job(ref.app, ref.name);
    if (job) this.cluster.removeJob(job);
    else if (!this.swarm) throw DriverError.notFound(`job "${ref.name}" of app "${ref.app}"`);
  }

  // ------------------------------------------------------------------ volumes

  private volumeInfo(v: MemVolume): VolumeInfo {
    return {
      name: v.name,
      nativeName: this.swarm ? `${v.app}_${v.name}` : v.name,
      app: v.app,
      kind: v.kind,
      ...(v.driver ? { driver: v.driver } : this.swarm ? { driver: 'local' } : {}),
      ...(v.storageClass ? { storageClass: v.storageClass } : {}),
      ...(v.size ? { size: v.size } : {}),
      status: this.swarm ? 'available' : 'Bound',
      node: this.cluster.nodes[0]!,
      labels: { ...v.labels, [LABEL.managedBy]: MANAGER, [LABEL.app]: v.app, [LABEL.volume]: v.name, [LABEL.volumeKind]: v.kind },
      createdAt: v.createdAt,
    };
  }

  async listVolumes(app?: string): Promise<VolumeInfo[]> {
    return this.cluster
      .volumesOf(app)
      .map((v) => this.volumeInfo(v))
      .sort((a, b) => `${a.app}/${a.name}`.localeCompare(`${b.app}/${b.name}`, undefined, { numeric: true }));
  }

  async createVolume(app: string, name: string, definition: VolumeCreate): Promise<VolumeInfo> {
    if (!DnsLabel.safeParse(name).success) {
      throw new DriverError(DriverErrorCode.Invalid, `volume name "${name}" is not a DNS label`, [
        { path: 'name', message: 'use lowercase letters, digits and "-"' },
      ]);
    }
    const existing = this.cluster.volume(app, name);
    if (existing && existing.kind !== definition.kind) {
      throw new DriverError(DriverErrorCode.Conflict, `a volume "${name}" already exists in app "${app}" (kind ${existing.kind}); choose another name`);
    }
    const { kind, labels, ...rest } = definition;
    return this.volumeInfo(existing ?? this.cluster.ensureVolume(app, name, kind, { ...rest, labels: labels ?? {} }));
  }

  /** Refused while a replica mounts it (both orchestrators); a missing one is NotFound on Kubernetes, already gone on Swarm. */
  async removeVolume(app: string, name: string): Promise<void> {
    const volume = this.cluster.volume(app, name);
    if (!volume) {
      if (this.swarm) return;
      throw DriverError.notFound(`volume "${name}" of app "${app}"`);
    }
    const users = this.cluster.volumeUsers(volume);
    if (users.length) {
      throw new DriverError(
        DriverErrorCode.Conflict,
        `volume "${name}" of app "${app}" is in use by ${users.length} replica(s); remove or update the services that mount it first`,
      );
    }
    this.cluster.removeVolume(volume);
  }

  // ------------------------------------------------------------------ observe

  async *events(options: EventOptions = {}): AsyncGenerator<ClusterEvent> {
    const cursor = options.since;
    if (cursor !== undefined && !/^\d+$/.test(cursor)) {
      throw new DriverError(DriverErrorCode.Invalid, `event cursor "${cursor}" is not one this driver returned (expected a number)`);
    }
    const signal = this.signal(options.signal);
    const log = this.cluster.eventLog;
    // without a cursor the stream starts now, as on both orchestrators
    let next = cursor !== undefined ? Math.min(Number(cursor), log.length) : log.length;
    while (!signal.aborted) {
      const seen = this.cluster.changes;
      while (next < log.length && !signal.aborted) {
        const event = log[next++]!;
        if (!options.app || event.app === options.app) yield structuredClone(event);
      }
      await this.cluster.nextChange(signal, seen);
    }
  }

  async stats(app?: string): Promise<StatsSample[]> {
    if (this.options.stats === false) {
      throw DriverError.unsupported('this cluster serves no resource metrics (the in-memory driver was made with stats: false)');
    }
    const time = new Date().toISOString();
    return this.cluster.servicesOf(app).flatMap((svc) =>
      this.cluster
        .liveReplicas(svc)
        .filter((r) => r.state === 'running')
        .map((r) => {
          const limit = r.spec.resources?.limits?.memoryBytes;
          return {
            time,
            app: svc.app,
            service: svc.name,
            replica: this.replicaName(svc, r),
            node: r.node,
            cpuCores: 0.01 * r.slot,
            memoryBytes: 16 * 1024 * 1024 + r.slot * 1024 * 1024,
            ...(limit !== undefined ? { memoryLimitBytes: limit } : {}),
            netRxBytes: 1000 * r.slot,
            netTxBytes: 500 * r.slot,
            blockReadBytes: 0,
            blockWriteBytes: 0,
          };
        }),
    );
  }

  /** The lines of every replica (or job run) since it started; `follow` waits for more until aborted (or the job ends). */
  async *logs(target: ServiceRef | JobRef, options: LogOptions = {}): AsyncGenerator<LogLine> {
    const source = 'service' in target ? this.require(target) : this.requireJob(target);
    const from = options.since ? sinceMs(options.since) : undefined;
    const signal = this.signal(options.signal);
    const pick = (l: LogLine) => from === undefined || Date.parse(l.time ?? '') >= from;
    const shape = (l: LogLine): LogLine => (options.timestamps === false ? { replica: l.replica, stream: l.stream, line: l.line } : { ...l });
    const first = source.logs.filter(pick);
    for (const l of options.tail !== undefined ? first.slice(Math.max(0, first.length - options.tail)) : first) {
      if (signal.aborted) return;
      yield shape(l);
    }
    if (!options.follow) return;
    let next = source.logs.length;
    while (!signal.aborted) {
      const seen = this.cluster.changes;
      while (next < source.logs.length) yield shape(source.logs[next++]!);
      if ('state' in source && source.state !== 'running') return;
      await this.cluster.nextChange(signal, seen);
    }
  }

  /** This cluster has no watch to follow: every read is its own state, as the orchestrator would answer. */
  async readModel(): Promise<ReadModelStatus> {
    return READ_MODEL_OFF;
  }

  async close(): Promise<void> {
    this.closing.abort();
  }
}

/**
 * An in-memory driver over `cluster`, with the cluster's test hooks applied to every call: a
 * failure set up with cluster.failNext/failAlways/setReachable is thrown before the call touches
 * anything (for a stream, when it is first read), and each call is recorded in cluster.calls.
 */
export function createInMemoryDriver(cluster: InMemoryCluster, options: InMemoryDriverOptions = {}): OrchestratorDriver {
  const driver = new InMemoryDriver(cluster, options);
  return new Proxy(driver, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function' || typeof prop !== 'string' || prop === 'close' || prop === 'constructor') return value;
      const call = value as (...args: unknown[]) => unknown;
      if (isStreamMethod(prop)) {
        return (...args: unknown[]) =>
          (async function* () {
            const failure = cluster.takeFailure(prop, args);
            if (failure) throw failure;
            yield* call.apply(target, args) as AsyncIterable<unknown>;
          })();
      }
      return async (...args: unknown[]) => {
        const failure = cluster.takeFailure(prop, args);
        if (failure && prop === 'health') {
          const unreachable = failure.code === DriverErrorCode.Unreachable || failure.code === DriverErrorCode.Timeout;
          return { status: unreachable ? 'unreachable' : 'degraded', message: failure.message } satisfies ClusterHealth;
        }
        if (failure) throw failure;
        return call.apply(target, args);
      };
    },
  }) as OrchestratorDriver;
}
