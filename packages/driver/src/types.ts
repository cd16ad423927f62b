import type { AppSpec, JobSpec, ServiceSpec, VolumeDefinition } from '@berth/model';

export type OrchestratorKind = 'swarm' | 'kubernetes';

/** How to reach a cluster. Credentials live here and nowhere else; never log or return them. */
export type ClusterConnection =
  | {
      kind: 'swarm';
      /** unix socket path, e.g. /var/run/docker.sock */
      socketPath?: string;
      /** tcp endpoint, e.g. tcp://10.0.0.5:2376 */
      host?: string;
      port?: number;
      tls?: { ca?: string; cert?: string; key?: string };
    }
  | {
      kind: 'kubernetes';
      /** kubeconfig file content (YAML) */
      kubeconfig: string;
      context?: string;
    };

export interface NodeInfo {
  id: string;
  name: string;
  role: 'manager' | 'worker' | 'control-plane';
  /** ready: schedulable work runs; down: not reporting; unknown: no information. */
  status: 'ready' | 'down' | 'unknown';
  availability?: 'active' | 'pause' | 'drain';
  address?: string;
  version?: string;
  labels: Record<string, string>;
  cpus?: number;
  memoryBytes?: number;
}

export interface ClusterInfo {
  kind: OrchestratorKind;
  /** Orchestrator version: Docker engine version, Kubernetes gitVersion. */
  version: string;
  apiVersion?: string;
  nodes: NodeInfo[];
}

export interface ClusterHealth {
  status: 'healthy' | 'degraded' | 'unreachable';
  message?: string;
  latencyMs?: number;
}

/** One field that differs between what runs and what would be written. */
export interface FieldChange {
  path: string;
  from?: unknown;
  to?: unknown;
}

/** Where an orchestrator cannot honour a spec field exactly, it says so here. */
export interface DriverWarning {
  path: string;
  message: string;
}

export interface PlannedObject {
  action: 'create' | 'update' | 'delete' | 'unchanged';
  /** Native kind: "service", "network", "volume" (Swarm); "Deployment", "Service", ... (Kubernetes). */
  kind: string;
  name: string;
  /** The service of the app this object belongs to, when it belongs to one. */
  service?: string;
  changes: FieldChange[];
  /** The native object as it would be written (omitted for delete/unchanged). */
  object?: unknown;
}

export interface Plan {
  app: string;
  changed: boolean;
  objects: PlannedObject[];
  warnings: DriverWarning[];
}

export interface ApplyResult extends Plan {
  /** Services whose replicas are being replaced or created: each has a rollout to follow. */
  rollingServices: string[];
}

export interface ServiceRef {
  app: string;
  service: string;
}

export interface PublishedPort {
  target: number;
  published?: number;
  protocol: 'tcp' | 'udp';
  mode: 'ingress' | 'host';
}

/** One running replica: a Swarm task or a Kubernetes pod. */
export interface Endpoint {
  id: string;
  /** Stable replica identity: Swarm slot, StatefulSet ordinal, or pod name. */
  replica: string;
  node?: string;
  address?: string;
  hostname?: string;
  state: string;
  ready: boolean;
  image?: string;
}

export interface ServiceDiscovery {
  /** Name other services of the app resolve: "web" (Swarm network alias), "web.app.svc.cluster.local". */
  dnsName: string;
  /** Other names that resolve: "tasks.app_web", per-replica names of stateful services. */
  aliases: string[];
  virtualIps: string[];
  ports: PublishedPort[];
  endpoints: Endpoint[];
}

export interface ReplicaCounts {
  desired: number;
  running: number;
  ready: number;
  updated: number;
}

export type RolloutState = 'none' | 'progressing' | 'paused' | 'completed' | 'rolling-back' | 'rolled-back' | 'failed';

export interface RolloutStatus {
  state: RolloutState;
  message?: string;
  replicas: ReplicaCounts;
  /** Replicas that failed during this rollout. */
  failed: number;
  /** Batches done and total, from the update policy's parallelism. */
  batches?: { done: number; total: number };
  startedAt?: string;
  completedAt?: string;
}

export const TERMINAL_ROLLOUT_STATES: ReadonlySet<RolloutState> = new Set(['none', 'paused', 'completed', 'rolled-back', 'failed']);

/**
 * How a read may be served. `cached` answers from the driver's watch-fed read model when it is live
 * and the app was not written through this driver in the last moments (read-your-writes); otherwise,
 * and by default, the orchestrator is asked.
 */
export interface ReadOptions {
  consistency?: 'cached' | 'fresh';
}

/** Where an answer's data came from, and the time it was known to be current. */
export interface Observation {
  source: 'cache' | 'orchestrator';
  /** ISO time: when it was read from the orchestrator, or up to when the watch had delivered every change. */
  observedAt: string;
}

/** The state of a driver's watch-fed read model. */
export interface ReadModelStatus {
  /**
   * off: not enabled for this driver; syncing: the first list is running; live: lists done and the
   * watch connected, cached reads are served; stale: the watch was lost, reads go to the orchestrator
   * until the read model is listed again.
   */
  state: 'off' | 'syncing' | 'live' | 'stale';
  /** Objects held, by native kind. */
  objects: Record<string, number>;
  /** The last complete list (the first one, after a reconnect, or the periodic resync). */
  syncedAt?: string;
  /** The last change the watch delivered. */
  lastChangeAt?: string;
  resyncs: number;
  reconnects: number;
  /** Reads answered from the read model, and from the orchestrator, since the driver was created. */
  reads: { cached: number; fresh: number };
  error?: string;
}

export interface ServiceStatus extends ServiceRef {
  /** Native id (Swarm service id, Kubernetes uid). */
  id: string;
  /** Native version for optimistic concurrency (Swarm Version.Index, Kubernetes resourceVersion). */
  version: string;
  image: string;
  mode: 'replicated' | 'global';
  stateful: boolean;
  replicas: ReplicaCounts;
  discovery: ServiceDiscovery;
  /** The Berth spec the service was last applied with, read back from the orchestrator. */
  spec?: ServiceSpec;
  /** Hash of that spec, to detect changes made behind Berth's back. */
  specHash?: string;
  rollout: RolloutStatus;
  createdAt?: string;
  updatedAt?: string;
  /** Set by every read: where the data came from and how old it is. */
  observed?: Observation;
}

export interface AppSummary {
  name: string;
  services: string[];
}

export interface JobRef {
  app: string;
  /** The run's native name, unique per run. */
  name: string;
}

export interface JobRun {
  id: string;
  state: 'pending' | 'running' | 'succeeded' | 'failed';
  exitCode?: number;
  node?: string;
  message?: string;
  startedAt?: string;
  finishedAt?: string;
}

export interface JobStatus extends JobRef {
  state: 'pending' | 'running' | 'succeeded' | 'failed';
  message?: string;
  completions: { desired: number; succeeded: number; failed: number; active: number };
  runs: JobRun[];
  startedAt?: string;
  completedAt?: string;
}

export type VolumeKind = 'implicit' | 'named' | 'hostPath' | 'shared';

export interface VolumeInfo {
  /** Name inside the app ("data"); stateful per-replica volumes carry the replica suffix ("data-1"). */
  name: string;
  /** Native name (Swarm volume name, PVC name). */
  nativeName: string;
  app?: string;
  kind: VolumeKind;
  driver?: string;
  storageClass?: string;
  size?: string;
  /** Kubernetes claim phase ("Bound"), or "available" for Swarm volumes. */
  status: string;
  node?: string;
  labels: Record<string, string>;
  createdAt?: string;
  /** Set by every read: where the data came from and how old it is. */
  observed?: Observation;
}

export interface VolumeCreate extends VolumeDefinition {
  kind: 'named' | 'shared';
}

/** An opaque, orchestrator-specific position in the event stream (a time or a resourceVersion). */
export type EventCursor = string;

export interface ClusterEvent {
  /** Unique id of the event, stable across re-reads, for de-duplication. */
  id: string;
  /** Resume from here to get the events after this one. */
  cursor: EventCursor;
  time: string;
  /** service, task, container, node, network, volume (Swarm); Deployment, Pod, Job, ... (Kubernetes). */
  objectKind: string;
  objectName: string;
  app?: string;
  service?: string;
  action: string;
  message?: string;
  attributes: Record<string, string>;
}

export interface EventOptions {
  since?: EventCursor;
  app?: string;
  signal?: AbortSignal;
}

export interface StatsSample {
  time: string;
  app?: string;
  service?: string;
  /** Container or pod name. */
  replica: string;
  node?: string;
  cpuCores: number;
  memoryBytes: number;
  memoryLimitBytes?: number;
  netRxBytes: number;
  netTxBytes: number;
  blockReadBytes: number;
  blockWriteBytes: number;
}

export interface LogOptions {
  follow?: boolean;
  tail?: number;
  since?: string;
  timestamps?: boolean;
  signal?: AbortSignal;
}

export interface LogLine {
  time?: string;
  replica: string;
  stream: 'stdout' | 'stderr';
  line: string;
}

/** One stored version of an app's secret, with its value (only on the way to a cluster). */
export interface SecretValue {
  name: string;
  version: string;
  value: string;
}

export interface RemoveOptions {
  /** Also remove the app's named and per-replica volumes (shared volumes are never removed implicitly). */
  volumes?: boolean;
}

export interface FollowOptions {
  signal?: AbortSignal;
  pollIntervalMs?: number;
}

/**
 * What Berth needs from an orchestrator. Implementations translate the unified model into native
 * objects; no SDK type crosses this interface, and every failure is a DriverError.
 * Mutations are idempotent: applying what already runs changes nothing and says so.
 */
export interface OrchestratorDriver {
  readonly kind: OrchestratorKind;

  info(): Promise<ClusterInfo>;
  health(): Promise<ClusterHealth>;

  /** Renders the native objects for `spec` and diffs them against what runs; writes nothing. */
  plan(spec: AppSpec): Promise<Plan>;
  /** Writes the native objects; returns at once, with the services whose rollout starts now. */
  apply(spec: AppSpec): Promise<ApplyResult>;
  /** Removes the app's services and network (volumes only when asked). Removing a missing app succeeds. */
  remove(app: string, options?: RemoveOptions): Promise<{ removed: string[] }>;

  /**
   * Writes each secret version the app's services mount, where missing. The native objects are
   * immutable and named by version, so a new value rolls the services that mount it, and an earlier
   * revision still finds its own. Values are never read back from the orchestrator.
   */
  ensureSecrets(app: string, secrets: SecretValue[]): Promise<void>;

  listApps(options?: ReadOptions): Promise<AppSummary[]>;
  listServices(app?: string, options?: ReadOptions): Promise<ServiceStatus[]>;
  getService(ref: ServiceRef, options?: ReadOptions): Promise<ServiceStatus>;

  scale(ref: ServiceRef, replicas: number): Promise<void>;
  /** Replaces one service's spec, rolling it with `spec.update`. */
  updateService(ref: ServiceRef, spec: ServiceSpec): Promise<{ changed: boolean }>;
  /** Rolls the service back to `spec` (an earlier revision), with its rollback policy. */
  rollbackService(ref: ServiceRef, spec: ServiceSpec): Promise<{ changed: boolean }>;
  rolloutStatus(ref: ServiceRef, options?: ReadOptions): Promise<RolloutStatus>;
  /**
   * Follows the current rollout to a terminal state, yielding each change. Failure actions the
   * orchestrator does not enforce itself are enforced here, from state kept on the orchestrator, so
   * following again after a restart continues where it was.
   */
  followRollout(ref: ServiceRef, options?: FollowOptions): AsyncIterable<RolloutStatus>;

  runJob(spec: JobSpec): Promise<JobRef>;
  jobStatus(ref: JobRef): Promise<JobStatus>;
  removeJob(ref: JobRef): Promise<void>;

  listVolumes(app?: string, options?: ReadOptions): Promise<VolumeInfo[]>;
  createVolume(app: string, name: string, definition: VolumeCreate): Promise<VolumeInfo>;
  removeVolume(app: string, name: string): Promise<void>;

  events(options?: EventOptions): AsyncIterable<ClusterEvent>;
  stats(app?: string): Promise<StatsSample[]>;
  logs(target: ServiceRef | JobRef, options?: LogOptions): AsyncIterable<LogLine>;

  /** The watch-fed read model's state (`off` when the driver was created without one). */
  readModel(): Promise<ReadModelStatus>;

  close(): Promise<void>;
}

/** How a driver is created. */
export interface DriverOptions {
  /** Keep a watch-fed read model of the cluster, for reads with `{ consistency: 'cached' }` (default off). */
  readModel?: boolean | { resyncMs?: number; writeWindowMs?: number };
}

type DriverMethod = Exclude<keyof OrchestratorDriver, 'kind'>;
/** The driver methods that stream (answer with an async iterable) rather than answer once. */
export type StreamMethod = { [K in DriverMethod]: ReturnType<OrchestratorDriver[K]> extends AsyncIterable<unknown> ? K : never }[DriverMethod];
/** Every streaming method, by name: the compiler insists each one is listed (and nothing else). */
export const STREAM_METHODS: Readonly<Record<StreamMethod, true>> = { events: true, logs: true, followRollout: true };
export const isStreamMethod = (prop: string | symbol): prop is StreamMethod => typeof prop === 'string' && Object.hasOwn(STREAM_METHODS, prop);
