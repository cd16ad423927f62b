import { randomBytes } from 'node:crypto';
import {
  DEFAULT_UPDATE_POLICY,
  rollbackPolicyOf,
  specHash,
  updatePolicyOf,
  type JobSpec,
  type RollbackPolicy,
  type ServiceSpec,
  type UpdatePolicy,
} from '@berth/model';
import { DriverError, DriverErrorCode, type ClusterEvent, type LogLine, type RolloutState, type VolumeKind } from '@berth/driver';

/** What the simulated nodes do with an image: the in-memory counterpart of the test images of the real backends. */
export interface SimulationRules {
  /** Whether a replica of `image` becomes ready. Default: not when the image reference contains "unhealthy". */
  becomesReady(image: string): boolean;
  /** Exit code of a job run of `image`. Default: 3 for the tag "fail", 0 otherwise. */
  jobExitCode(image: string): number;
}

export interface InMemoryClusterOptions {
  /**
   * Real milliseconds per simulated millisecond: at 0.01 (the default) a rollout `delay` of 3 s
   * takes 30 ms. Simulated time follows real time scaled by this, unless paused.
   */
  timeScale?: number;
  /** Simulated time from a replica's start to ready (or failed). Default 1000 ms. */
  replicaStartMs?: number;
  /** Simulated time one job run takes. Default 1000 ms. */
  jobRunMs?: number;
  /** Number of (always ready) nodes; global services run one replica on each. Default 1. */
  nodes?: number;
  rules?: Partial<SimulationRules>;
  /** Start with time stopped: nothing moves until advance(), step(), settle() or resume(). */
  paused?: boolean;
}

export const defaultRules: SimulationRules = {
  becomesReady: (image) => !image.includes('unhealthy'),
  jobExitCode: (image) => (imageTag(image) === 'fail' ? 3 : 0),
};

/** The tag of an image reference ("latest" when it names none). */
export function imageTag(image: string): string {
  const name = image.split('@')[0]!;
  const colon = name.lastIndexOf(':');
  return colon > name.lastIndexOf('/') ? name.slice(colon + 1) : 'latest';
}

export type ReplicaState = 'starting' | 'running' | 'failed' | 'stopped';

export interface MemReplica {
  id: string;
  /** 1-based slot (Swarm slot; a StatefulSet ordinal is slot - 1). */
  slot: number;
  /** The spec the replica was started from (what it runs, whatever the service asks for now). */
  spec: ServiceSpec;
  template: string;
  state: ReplicaState;
  ready: boolean;
  node: string;
  address: string;
  createdAt: string;
  message?: string;
}

export type RolloutReason = 'create' | 'update' | 'rollback' | 'auto-rollback';

export interface MemRollout {
  state: RolloutState;
  reason: RolloutReason;
  policy: UpdatePolicy | RollbackPolicy;
  /** Template hash every replica converges to. */
  target: string;
  failed: number;
  message?: string;
  startedAt: string;
  completedAt?: string;
  /** Bumped by every new rollout, so the timers of a superseded one do nothing. */
  generation: number;
}

export interface MemService {
  id: string;
  app: string;
  name: string;
  spec: ServiceSpec;
  /** The spec replaced by the last rolling write: where a failureAction "rollback" returns to. */
  previousSpec?: ServiceSpec;
  /** Bumped by every write (Swarm Version.Index, Kubernetes resourceVersion). */
  version: number;
  replicas: MemReplica[];
  rollout: MemRollout;
  logs: LogLine[];
  createdAt: string;
  updatedAt: string;
}

export interface MemJobRun {
  id: string;
  state: 'running' | 'succeeded' | 'failed';
  exitCode?: number;
  node: string;
  startedAt: string;
  finishedAt?: string;
}

export interface MemJob {
  app: string;
  name: string;
  spec: JobSpec;
  state: 'pending' | 'running' | 'succeeded' | 'failed';
  message?: string;
  runs: MemJobRun[];
  logs: LogLine[];
  startedAt: string;
  completedAt?: string;
}

export interface MemVolume {
  app: string;
  name: string;
  kind: VolumeKind;
  driver?: string;
  driverOptions?: Record<string, string>;
  storageClass?: string;
  size?: string;
  labels: Record<string, string>;
  createdAt: string;
  /** File contents by path inside the volume: what survives a replica's replacement. */
  files: Map<string, string>;
}

interface FailureRule {
  method: string;
  error: DriverError;
  remaining: number;
}

interface Timer {
  due: number;
  seq: number;
  run: () => void;
}

/** The part of a service spec its replicas are made from: a change here replaces replicas. */
export function templateHash(spec: ServiceSpec): string {
  const { replicas: _r, update: _u, rollback: _b, ...template } = spec;
  return specHash(template);
}

const shortId = (): string => randomBytes(6).toString('hex');
const now = (): string => new Date().toISOString();
const clone = <T>(value: T): T => structuredClone(value);

/**
 * A simulated orchestrator: services with their replicas and rollouts, jobs with runs, volumes,
 * secrets by version, an event log and log lines. It is the "cluster" behind createInMemoryDriver;
 * several drivers may share one, as gateway instances share a real cluster, and everything the
 * real drivers keep on the orchestrator (rollout progress, the spec to roll back to) lives here.
 *
 * Time is simulated: rollouts and jobs advance on a scheduler whose clock runs at `timeScale` of
 * real time, and tests may stop it (pause), move it (advance, step) or run it out (settle).
 */
export class InMemoryCluster {
  readonly rules: SimulationRules;
  readonly nodes: string[];
  readonly replicaStartMs: number;
  readonly jobRunMs: number;
  private timeScale: number;

  readonly services = new Map<string, MemService>();
  readonly jobs = new Map<string, MemJob>();
  readonly volumes = new Map<string, MemVolume>();
  /** Secret values by app, then by `name@version`. */
  readonly secrets = new Map<string, Map<string, string>>();
  /** Apps with a network (Swarm) or namespace (Kubernetes): created by the first write, gone with remove. */
  readonly apps = new Set<string>();
  readonly eventLog: ClusterEvent[] = [];
  /** Errors thrown by simulation steps (a bug in the simulation, never expected). */
  readonly errors: unknown[] = [];

  private queue: Timer[] = [];
  private seq = 0;
  private generation = 0;
  private addressSeq = 1;
  private base = 0;
  private realBase = performance.now();
  private running: boolean;
  private realTimer: NodeJS.Timeout | undefined;
  private waiters = new Set<() => void>();
  private disposed = false;
  private failures: FailureRule[] = [];
  /** Bumped by every change of state: a reader that saw `changes` = n waits for n + 1. */
  changes = 0;
  /** Every driver call made on this cluster, in order, by any driver over it. */
  readonly calls: Array<{ method: string; args: unknown[] }> = [];

  constructor(options: InMemoryClusterOptions = {}) {
    this.timeScale = options.timeScale ?? 0.01;
    if (!(this.timeScale > 0)) throw new RangeError('timeScale must be a positive number');
    this.replicaStartMs = options.replicaStartMs ?? 1000;
    this.jobRunMs = options.jobRunMs ?? 1000;
    this.nodes = Array.from({ length: options.nodes ?? 1 }, (_, i) => `node-${i + 1}`);
    this.rules = { ...defaultRules, ...options.rules };
    this.running = !options.paused;
  }

  // ------------------------------------------------------------------ time

  /** Simulated milliseconds since the cluster was made. */
  now(): number {
    return this.running ? this.base + (performance.now() - this.realBase) / this.timeScale : this.base;
  }

  get paused(): boolean {
    return !this.running;
  }

  /** Pending simulation steps (replica starts, batches, job runs). */
  get pending(): number {
    return this.queue.length;
  }

  /** Stops simulated time: rollouts and jobs stay where they are until resume(), advance(), step() or settle(). */
  pause(): void {
    if (!this.running) return;
    this.base = this.now();
    this.running = false;
    clearTimeout(this.realTimer);
    this.realTimer = undefined;
  }

  resume(): void {
    if (this.running || this.disposed) return;
    this.realBase = performance.now();
    this.running = true;
    this.arm();
  }

  /** Moves simulated time forward by `ms`, running every step that falls due on the way, in order. */
  advance(ms: number): void {
    const wasRunning = this.running;
    this.pause();
    const target = this.base + ms;
    for (let head = this.queue[0]; head && head.due <= target; head = this.queue[0]) this.runHead();
    this.base = target;
    if (wasRunning) this.resume();
  }

  /** Runs the next pending step alone (time jumps to it); false when nothing is pending. */
  step(): boolean {
    const wasRunning = this.running;
    this.pause();
    const ran = this.queue.length > 0;
    if (ran) this.runHead();
    if (wasRunning) this.resume();
    return ran;
  }

  /** Runs every pending step, and the steps they schedule, until nothing is left (bounded by `maxSteps`). */
  settle(maxSteps = 100_000): void {
    for (let i = 0; i < maxSteps; i++) if (!this.step()) return;
    throw new Error(`the simulation did not settle within ${maxSteps} steps`);
  }

  /** Resolves once nothing is pending (time must be running, or something else must advance it). */
  async whenIdle(signal?: AbortSignal): Promise<void> {
    while (this.queue.length && !signal?.aborted) await this.nextChange(signal);
  }

  /** Stops every timer; the state stays readable. */
  dispose(): void {
    this.pause();
    this.disposed = true;
    this.queue = [];
    this.notify();
  }

  /** Runs `run` after `delayMs` of simulated time. */
  schedule(delayMs: number, run: () => void): void {
    if (this.disposed) return;
    const timer = { due: this.now() + Math.max(0, delayMs), seq: this.seq++, run };
    const at = this.queue.findIndex((t) => t.due > timer.due);
    if (at === -1) this.queue.push(timer);
    else this.queue.splice(at, 0, timer);
    if (at === 0 || this.queue.length === 1) this.arm();
  }

  private runHead(): void {
    const head = this.queue.shift()!;
    if (!this.running) this.base = Math.max(this.base, head.due);
    try {
      head.run();
    } catch (err) {
      this.errors.push(err);
    }
    this.notify();
  }

  private arm(): void {
    clearTimeout(this.realTimer);
    this.realTimer = undefined;
    const head = this.queue[0];
    if (!this.running || !head) return;
    const wait = Math.max(0, (head.due - this.now()) * this.timeScale);
    this.realTimer = setTimeout(() => {
      this.realTimer = undefined;
      const due = this.now();
      while (this.running && this.queue[0] && this.queue[0].due <= due) this.runHead();
      this.arm();
    }, wait);
    this.realTimer.unref();
  }

  /**
   * Resolves at the next change of state after the reader saw `seen` changes (at once when one
   * happened meanwhile), or when the signal aborts.
   */
  nextChange(signal?: AbortSignal, seen = this.changes): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted || this.disposed || this.changes !== seen) return resolve();
      const done = () => {
        this.waiters.delete(done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      this.waiters.add(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  /** Wakes every stream waiting for news (events, log follows, followers). */
  notify(): void {
    this.changes++;
    for (const w of [...this.waiters]) w();
  }

  // ------------------------------------------------------------------ injected failures

  /**
   * Makes the next `times` calls of `method` (a driver method name, or "*" for any) fail with
   * `error`, before they touch any state, on every driver over this cluster. A failed `health`
   * answers "unreachable" (Unreachable, Timeout) or "degraded" instead of throwing, as the real drivers do.
   */
  failNext(method: string, error: DriverError, times = 1): void {
    this.failures.push({ method, error, remaining: times });
  }

  /** Makes every call of `method` (or "*") fail with `error` until clearFailures(). */
  failAlways(method: string, error: DriverError): void {
    this.failures.push({ method, error, remaining: Infinity });
  }

  /**
   * The cluster stops (or starts again) answering: every call fails with Unreachable, and every
   * open stream breaks at its next read, as a dropped connection does.
   */
  setReachable(reachable: boolean): void {
    this.failures = this.failures.filter((f) => f !== this.unreachable);
    if (!reachable) this.failures.push(this.unreachable);
    this.notify();
  }

  /** The error an open stream ends with while the cluster is unreachable. */
  get connectionLost(): DriverError | undefined {
    return this.failures.includes(this.unreachable) ? this.unreachable.error : undefined;
  }

  clearFailures(method?: string): void {
    this.failures = method === undefined ? [] : this.failures.filter((f) => f.method !== method);
  }

  private readonly unreachable: FailureRule = {
    method: '*',
    error: new DriverError(DriverErrorCode.Unreachable, 'the in-memory cluster is unreachable (setReachable(false))'),
    remaining: Infinity,
  };

  /** Records a call and returns the failure it must end with, if one is set up for it. */
  takeFailure(method: string, args: unknown[]): DriverError | undefined {
    this.calls.push({ method, args });
    const rule = this.failures.find((f) => f.method === method || f.method === '*');
    if (!rule) return undefined;
    if (--rule.remaining <= 0) this.failures = this.failures.filter((f) => f !== rule);
    return rule.error;
  }

  // ------------------------------------------------------------------ native state, read directly

  service(app: string, name: string): MemService | undefined {
    return this.services.get(`${app}/${name}`);
  }

  servicesOf(app?: string): MemService[] {
    return [...this.services.values()].filter((s) => app === undefined || s.app === app);
  }

  job(app: string, name: string): MemJob | undefined {
    return this.jobs.get(`${app}/${name}`);
  }

  volume(app: string, name: string): MemVolume | undefined {
    return this.volumes.get(`${app}/${name}`);
  }

  volumesOf(app?: string): MemVolume[] {
    return [...this.volumes.values()].filter((v) => app === undefined || v.app === app);
  }

  /** The stored value of one secret version, or undefined when it was never written. */
  secretValue(app: string, name: string, version: string): string | undefined {
    return this.secrets.get(app)?.get(`${name}@${version}`);
  }

  /** The replicas that count as current: starting, running or failed (not the stopped ones). */
  liveReplicas(svc: MemService): MemReplica[] {
    return svc.replicas.filter((r) => r.state !== 'stopped');
  }

  desiredReplicas(svc: MemService): number {
    return svc.spec.mode === 'global' ? this.nodes.length : svc.spec.replicas;
  }

  // ------------------------------------------------------------------ events

  record(event: Omit<ClusterEvent, 'id' | 'cursor' | 'time' | 'attributes'> & { attributes?: Record<string, string> }): void {
    const cursor = String(this.eventLog.length + 1);
    this.eventLog.push({ ...event, id: `ev-${cursor}`, cursor, time: now(), attributes: event.attributes ?? {} });
    this.notify();
  }

  private serviceEvent(svc: MemService, objectKind: 'service' | 'replica', action: string, message?: string): void {
    this.record({
      objectKind,
      objectName: `${svc.app}_${svc.name}`,
      app: svc.app,
      service: svc.name,
      action,
      ...(message ? { message } : {}),
    });
  }

  // ------------------------------------------------------------------ services

  /** Creates a service and rolls out its replicas. */
  createService(app: string, name: string, spec: ServiceSpec): MemService {
    const at = now();
    const svc: MemService = {
      id: shortId(),
      app,
      name,
      spec: clone(spec),
      version: 1,
      replicas: [],
      rollout: { state: 'completed', reason: 'create', policy: DEFAULT_UPDATE_POLICY, target: '', failed: 0, startedAt: at, generation: 0 },
      logs: [],
      createdAt: at,
      updatedAt: at,
    };
    this.apps.add(app);
    this.services.set(`${app}/${name}`, svc);
    this.ensureServiceVolumes(svc);
    this.serviceEvent(svc, 'service', 'create');
    this.startRollout(svc, 'create');
    return svc;
  }

  /**
   * Replaces a service's spec. A changed template rolls the replicas with the update policy (the
   * rollback policy when `rollback`); a changed count or policy alone rolls nothing.
   * Returns whether a rollout started.
   */
  writeService(svc: MemService, spec: ServiceSpec, reason: 'update' | 'rollback' = 'update'): boolean {
    const rolls = templateHash(spec) !== templateHash(svc.spec);
    if (rolls) svc.previousSpec = svc.spec;
    svc.spec = clone(spec);
    svc.version++;
    svc.updatedAt = now();
    this.ensureServiceVolumes(svc);
    this.serviceEvent(svc, 'service', 'update');
    if (rolls) this.startRollout(svc, reason);
    else this.reconcile(svc);
    return rolls;
  }

  scaleService(svc: MemService, replicas: number): void {
    svc.spec = { ...svc.spec, replicas };
    svc.version++;
    svc.updatedAt = now();
    this.serviceEvent(svc, 'service', 'scale', `replicas: ${replicas}`);
    this.reconcile(svc);
  }

  removeService(svc: MemService): void {
    svc.rollout.generation = -1;
    for (const r of svc.replicas) this.stopReplica(svc, r);
    this.services.delete(`${svc.app}/${svc.name}`);
    this.serviceEvent(svc, 'service', 'remove');
  }

  private ensureServiceVolumes(svc: MemService): void {
    if (svc.spec.stateful) return; // per replica, at the replica's start
    for (const v of svc.spec.volumes) if (v.type === 'named') this.ensureVolume(svc.app, v.source, 'named');
  }

  /** The per-replica volume name of a stateful service's replica (kept with the slot across replacements). */
  replicaVolumeName(volume: string, slot: number): string {
    return `${volume}-${slot}`;
  }

  ensureVolume(app: string, name: string, kind: VolumeKind, definition: Partial<MemVolume> = {}): MemVolume {
    const existing = this.volume(app, name);
    if (existing) return existing;
    const volume: MemVolume = { labels: {}, ...definition, app, name, kind, createdAt: now(), files: new Map() };
    this.apps.add(app);
    this.volumes.set(`${app}/${name}`, volume);
    this.record({ objectKind: 'volume', objectName: `${app}_${name}`, app, action: 'create' });
    return volume;
  }

  removeVolume(volume: MemVolume): void {
    this.volumes.delete(`${volume.app}/${volume.name}`);
    this.record({ objectKind: 'volume', objectName: `${volume.app}_${volume.name}`, app: volume.app, action: 'remove' });
  }

  /** Replicas (of any app) that mount the volume now. */
  volumeUsers(volume: MemVolume): MemReplica[] {
    return this.servicesOf(volume.app).flatMap((svc) =>
      this.liveReplicas(svc).filter((r) =>
        r.spec.volumes.some((v) => (v.type === 'named' || v.type === 'shared') && this.mountedVolume(svc, r, v.source, v.type) === volume.name),
      ),
    );
  }

  /** The name of the volume a replica's mount of `source` resolves to. */
  mountedVolume(svc: MemService, replica: MemReplica, source: string, type: 'named' | 'shared'): string {
    return type === 'named' && svc.spec.stateful ? this.replicaVolumeName(source, replica.slot) : source;
  }

  private startReplica(svc: MemService, slot: number): MemReplica {
    const spec = clone(svc.spec);
    const replica: MemReplica = {
      id: shortId(),
      slot,
      spec,
      template: templateHash(spec),
      state: 'starting',
      ready: false,
      node: this.nodes[(slot - 1) % this.nodes.length]!,
      address: `10.0.${Math.floor(this.addressSeq / 250) % 250}.${(this.addressSeq++ % 250) + 2}`,
      createdAt: now(),
    };
    if (spec.stateful) {
      for (const v of spec.volumes) if (v.type === 'named') this.ensureVolume(svc.app, this.replicaVolumeName(v.source, slot), 'named');
    }
    svc.replicas.push(replica);
    this.log(svc.logs, String(slot), 'stdout', `starting ${spec.image}`);
    this.serviceEvent(svc, 'replica', 'start', `replica ${slot} (${spec.image})`);
    this.schedule(this.replicaStartMs, () => {
      if (replica.state !== 'starting') return;
      if (this.rules.becomesReady(spec.image)) {
        replica.state = 'running';
        replica.ready = true;
        this.log(svc.logs, String(slot), 'stdout', `${spec.image} is ready`);
        this.serviceEvent(svc, 'replica', 'ready', `replica ${slot} (${spec.image})`);
      } else {
        replica.state = 'failed';
        replica.message = `replica ${slot} (${spec.image}) never became ready`;
        this.log(svc.logs, String(slot), 'stderr', `${spec.image}: health check failed`);
        this.serviceEvent(svc, 'replica', 'fail', replica.message);
      }
    });
    return replica;
  }

  private stopReplica(svc: MemService, replica: MemReplica): void {
    if (replica.state === 'stopped') return;
    replica.state = 'stopped';
    replica.ready = false;
    this.log(svc.logs, String(replica.slot), 'stdout', 'stopped');
    this.serviceEvent(svc, 'replica', 'stop', `replica ${replica.slot}`);
    // stopped replicas are forgotten, as the orchestrators prune old tasks and pods
    svc.replicas = svc.replicas.filter((r) => r !== replica);
  }

  private log(lines: LogLine[], replica: string, stream: 'stdout' | 'stderr', line: string): void {
    lines.push({ time: now(), replica, stream, line });
    this.notify();
  }

  /** Outside a rollout: drops replicas beyond the count and starts missing ones from the current spec. */
  private reconcile(svc: MemService): void {
    const desired = this.desiredReplicas(svc);
    for (const r of this.liveReplicas(svc).filter((r) => r.slot > desired)) this.stopReplica(svc, r);
    const rolling = svc.rollout.state === 'progressing' || svc.rollout.state === 'rolling-back';
    if (rolling) return; // the rollout's next batch fills missing slots
    for (let slot = 1; slot <= desired; slot++) if (!this.liveReplicas(svc).some((r) => r.slot === slot)) this.startReplica(svc, slot);
  }

  private startRollout(svc: MemService, reason: RolloutReason, message?: string): void {
    const rollingBack = reason === 'rollback' || reason === 'auto-rollback';
    const policy = rollingBack ? rollbackPolicyOf(svc.spec) : updatePolicyOf(svc.spec);
    const generation = ++this.generation;
    svc.rollout = {
      state: reason === 'auto-rollback' ? 'rolling-back' : 'progressing',
      reason,
      policy: clone(policy),
      target: templateHash(svc.spec),
      failed: 0,
      ...(message ? { message } : {}),
      startedAt: now(),
      generation,
    };
    this.schedule(0, () => this.nextBatch(svc, generation));
  }

  private current(svc: MemService, generation: number): boolean {
    const state = svc.rollout.state;
    return svc.rollout.generation === generation && (state === 'progressing' || state === 'rolling-back');
  }

  /**
   * Starts the next batch: up to `parallelism` replicas that are missing or run another template,
   * lowest slot first. stop-first stops the old replica before its successor starts; start-first
   * keeps it until the successor is ready.
   */
  private nextBatch(svc: MemService, generation: number): void {
    if (!this.current(svc, generation)) return;
    const { policy, target } = svc.rollout;
    const desired = this.desiredReplicas(svc);
    for (const r of this.liveReplicas(svc).filter((r) => r.slot > desired)) this.stopReplica(svc, r);
    const live = this.liveReplicas(svc);
    const work: Array<{ slot: number; old?: MemReplica }> = [];
    for (let slot = 1; slot <= desired; slot++) {
      const here = live.filter((r) => r.slot === slot);
      if (!here.length) work.push({ slot });
      else if (!here.some((r) => r.template === target)) work.push({ slot, old: here[0]! });
    }
    if (!work.length) {
      this.schedule(policy.monitor, () => this.complete(svc, generation));
      return;
    }
    const batch = work.slice(0, policy.parallelism === 0 ? work.length : policy.parallelism);
    const started = batch.map(({ slot, old }) => {
      if (old && policy.order === 'stop-first') this.stopReplica(svc, old);
      return { fresh: this.startReplica(svc, slot), old };
    });
    this.schedule(this.replicaStartMs, () => this.endBatch(svc, generation, started));
  }

  private endBatch(svc: MemService, generation: number, started: Array<{ fresh: MemReplica; old?: MemReplica | undefined }>): void {
    if (!this.current(svc, generation)) return;
    const rollout = svc.rollout;
    for (const { fresh, old } of started) if (old && fresh.ready) this.stopReplica(svc, old);
    const failures = started.filter(({ fresh }) => fresh.state === 'failed').map(({ fresh }) => fresh.message!);
    rollout.failed += failures.length;
    const ratio = rollout.failed / Math.max(1, this.desiredReplicas(svc));
    if (failures.length && ratio > rollout.policy.maxFailureRatio && rollout.policy.failureAction !== 'continue') {
      this.onFailure(svc, failures[0]!);
      return;
    }
    this.schedule(rollout.policy.delay, () => this.nextBatch(svc, generation));
  }

  private onFailure(svc: MemService, failure: string): void {
    const rollout = svc.rollout;
    const at = now();
    if (rollout.policy.failureAction === 'rollback' && svc.previousSpec) {
      const failed = svc.spec;
      svc.spec = svc.previousSpec;
      svc.previousSpec = failed;
      svc.version++;
      svc.updatedAt = at;
      this.serviceEvent(svc, 'service', 'rollback', failure);
      // rolled with the rollback policy of the spec that failed, as Swarm does
      const policy = rollbackPolicyOf(failed);
      this.startRollout(svc, 'auto-rollback', `rollout of ${svc.name} failed: ${failure}; rolling back to the previous spec`);
      svc.rollout.policy = clone(policy);
      return;
    }
    const noPrevious = rollout.policy.failureAction === 'rollback' ? ' (no previous spec to roll back to)' : '';
    rollout.state = rollout.reason === 'auto-rollback' ? 'failed' : 'paused';
    rollout.message =
      rollout.reason === 'auto-rollback' ? `the rollback of ${svc.name} failed too: ${failure}` : `rollout of ${svc.name} paused: ${failure}${noPrevious}`;
    rollout.completedAt = at;
    this.serviceEvent(svc, 'service', 'rollout-paused', rollout.message);
  }

  private complete(svc: MemService, generation: number): void {
    if (!this.current(svc, generation)) return;
    const rollout = svc.rollout;
    if (rollout.reason === 'auto-rollback') {
      rollout.state = 'rolled-back';
      rollout.message = (rollout.message ?? '').replace('rolling back to', 'rolled back to');
    } else {
      rollout.state = 'completed';
      if (rollout.failed) rollout.message = `completed with ${rollout.failed} failed replica(s) (failureAction "continue")`;
    }
    rollout.completedAt = now();
    this.serviceEvent(svc, 'service', rollout.state === 'completed' ? 'rollout-completed' : 'rollout-rolled-back', rollout.message);
  }

  // ------------------------------------------------------------------ jobs

  startJob(app: string, name: string, spec: JobSpec): MemJob {
    const job: MemJob = { app, name, spec: clone(spec), state: 'running', runs: [], logs: [], startedAt: now() };
    this.apps.add(app);
    for (const v of spec.volumes) if (v.type === 'named') this.ensureVolume(app, v.source, 'named');
    this.jobs.set(`${app}/${name}`, job);
    this.record({ objectKind: 'job', objectName: name, app, action: 'create' });
    this.fillRuns(job);
    if (spec.timeout !== undefined) {
      this.schedule(spec.timeout, () => this.finishJob(job, 'failed', `job ${name} ran longer than its timeout of ${spec.timeout} ms`));
    }
    return job;
  }

  removeJob(job: MemJob): void {
    this.jobs.delete(`${job.app}/${job.name}`);
    if (job.state === 'running') job.state = 'failed';
    this.record({ objectKind: 'job', objectName: job.name, app: job.app, action: 'remove' });
  }

  /** Keeps `parallelism` runs going until enough succeeded. */
  private fillRuns(job: MemJob): void {
    const { completions, parallelism } = job.spec;
    const count = (state: MemJobRun['state']) => job.runs.filter((r) => r.state === state).length;
    while (job.state === 'running' && count('running') < parallelism && count('succeeded') + count('running') < completions) {
      const run: MemJobRun = { id: shortId(), state: 'running', node: this.nodes[job.runs.length % this.nodes.length]!, startedAt: now() };
      job.runs.push(run);
      this.log(job.logs, run.id, 'stdout', `running ${job.spec.image}`);
      this.schedule(this.jobRunMs, () => this.finishRun(job, run));
    }
  }

  private finishRun(job: MemJob, run: MemJobRun): void {
    if (job.state !== 'running' || !this.jobs.has(`${job.app}/${job.name}`)) return;
    const exitCode = this.rules.jobExitCode(job.spec.image);
    run.exitCode = exitCode;
    run.state = exitCode === 0 ? 'succeeded' : 'failed';
    run.finishedAt = now();
    this.log(job.logs, run.id, exitCode === 0 ? 'stdout' : 'stderr', exitCode === 0 ? 'done' : `exited with code ${exitCode}`);
    const failed = job.runs.filter((r) => r.state === 'failed').length;
    const succeeded = job.runs.filter((r) => r.state === 'succeeded').length;
    if (failed > job.spec.backoffLimit) {
      this.finishJob(job, 'failed', `run ${run.id} exited with code ${exitCode}; backoff limit ${job.spec.backoffLimit} reached`);
    } else if (succeeded >= job.spec.completions) {
      this.finishJob(job, 'succeeded');
    } else {
      this.fillRuns(job);
    }
  }

  private finishJob(job: MemJob, state: 'succeeded' | 'failed', message?: string): void {
    if (job.state !== 'running') return;
    job.state = state;
    if (message) job.message = message;
    job.completedAt = now();
    for (const r of job.runs.filter((r) => r.state === 'running')) {
      r.state = 'failed';
      r.finishedAt = job.completedAt;
    }
    this.record({ objectKind: 'job', objectName: job.name, app: job.app, action: state, ...(message ? { message } : {}) });
  }

  // ------------------------------------------------------------------ secrets

  writeSecret(app: string, name: string, version: string, value: string): void {
    let versions = this.secrets.get(app);
    if (!versions) this.secrets.set(app, (versions = new Map()));
    if (versions.has(`${name}@${version}`)) return; // immutable, like the native objects
    versions.set(`${name}@${version}`, value);
    this.apps.add(app);
    this.record({ objectKind: 'secret', objectName: `${app}_${name}_${version}`, app, action: 'create' });
  }

  /** The secret versions the spec mounts that were never written. */
  missingSecrets(app: string, spec: ServiceSpec): string[] {
    return spec.secrets.filter((s) => this.secretValue(app, s.source, s.version ?? '') === undefined).map((s) => `${s.source}@${s.version ?? '?'}`);
  }

  /** Removes everything of the app; its volumes only when asked, shared ones never. */
  removeApp(app: string, volumes: boolean): string[] {
    const removed: string[] = [];
    for (const svc of this.servicesOf(app)) {
      this.removeService(svc);
      removed.push(`service/${svc.name}`);
    }
    for (const job of [...this.jobs.values()].filter((j) => j.app === app)) {
      this.removeJob(job);
      removed.push(`job/${job.name}`);
    }
    for (const key of this.secrets.get(app)?.keys() ?? []) removed.push(`secret/${key}`);
    this.secrets.delete(app);
    if (volumes) {
      for (const v of this.volumesOf(app).filter((v) => v.kind !== 'shared')) {
        this.removeVolume(v);
        removed.push(`volume/${v.name}`);
      }
    }
    if (this.apps.delete(app)) removed.push(`network/${app}`);
    return removed;
  }

  /** Throws when a later write would start a pod whose secret is missing (both real drivers refuse it). */
  requireSecrets(app: string, specs: ServiceSpec[]): void {
    const missing = specs.flatMap((s) => this.missingSecrets(app, s));
    if (missing.length) {
      throw new DriverError(
        DriverErrorCode.Invalid,
        `secret(s) ${[...new Set(missing)].join(', ')} do not exist on the cluster: they are written by ensureSecrets before a service uses them`,
      );
    }
  }
}
