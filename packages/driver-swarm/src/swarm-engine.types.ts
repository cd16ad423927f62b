/**
 * The part of the Docker Engine API (1.41, Docker 20.10) this driver reads and writes, typed from
 * what the engine really returns. Kept here rather than taken from @types/dockerode, whose types lag
 * (TaskSpec is a union to narrow, UpdateConfig.Order is required, a mount's Source is required
 * although an anonymous volume has none, tasks and nodes are `any`). Nothing here leaves the package.
 */

/** Durations in the engine API are nanoseconds. */
export type Nanoseconds = number;

export type Labels = Record<string, string>;

export interface EngineMount {
  Type: 'volume' | 'bind' | 'tmpfs';
  /** Absent for an anonymous volume. */
  Source?: string;
  Target: string;
  ReadOnly?: boolean;
  VolumeOptions?: {
    Labels?: Labels;
    DriverConfig?: { Name?: string; Options?: Record<string, string> };
  };
}

export interface EngineHealthConfig {
  Test: string[];
  Interval?: Nanoseconds;
  Timeout?: Nanoseconds;
  Retries?: number;
  StartPeriod?: Nanoseconds;
}

export interface EngineContainerSpec {
  Image: string;
  Labels?: Labels;
  /** Replaces the image's ENTRYPOINT. */
  Command?: string[];
  /** Replaces the image's CMD. */
  Args?: string[];
  Hostname?: string;
  Env?: string[];
  Dir?: string;
  User?: string;
  Mounts?: EngineMount[];
  Secrets?: EngineSecretReference[];
  StopGracePeriod?: Nanoseconds;
  /** Spelled so by the engine (the API reference says HealthCheck; the engine returns this). */
  Healthcheck?: EngineHealthConfig;
  TTY?: boolean;
  /** Engine API 1.41+: capabilities added to / dropped from the default set ("CAP_NET_ADMIN"). */
  CapabilityAdd?: string[];
  CapabilityDrop?: string[];
  [engineDefault: string]: unknown;
}

export interface EngineResources {
  NanoCPUs?: number;
  MemoryBytes?: number;
}

export interface EngineRestartPolicy {
  Condition?: 'none' | 'on-failure' | 'any';
  Delay?: Nanoseconds;
  MaxAttempts?: number;
  Window?: Nanoseconds;
}

export interface EngineNetworkAttachment {
  /** A network name when written; the engine stores and returns the network ID. */
  Target: string;
  Aliases?: string[];
}

export interface EngineTaskSpec {
  ContainerSpec: EngineContainerSpec;
  Resources?: { Limits?: EngineResources; Reservations?: EngineResources };
  RestartPolicy?: EngineRestartPolicy;
  Placement?: { Constraints?: string[]; MaxReplicas?: number };
  Networks?: EngineNetworkAttachment[];
  ForceUpdate?: number;
  Runtime?: string;
}

export interface EngineUpdateConfig {
  Parallelism: number;
  /** The engine omits a zero delay and monitor. */
  Delay?: Nanoseconds;
  FailureAction: 'pause' | 'continue' | 'rollback';
  Monitor?: Nanoseconds;
  MaxFailureRatio: number;
  Order: 'stop-first' | 'start-first';
}

export interface EnginePortConfig {
  Name?: string;
  Protocol?: 'tcp' | 'udp' | 'sctp';
  TargetPort: number;
  PublishedPort?: number;
  PublishMode?: 'ingress' | 'host';
}

export interface EngineEndpointSpec {
  Mode?: 'vip' | 'dnsrr';
  Ports?: EnginePortConfig[];
}

export interface EngineServiceMode {
  Replicated?: { Replicas?: number };
  Global?: Record<string, never>;
  ReplicatedJob?: { MaxConcurrent?: number; TotalCompletions?: number };
  GlobalJob?: Record<string, never>;
}

export interface EngineServiceSpec {
  Name: string;
  Labels: Labels;
  TaskTemplate: EngineTaskSpec;
  Mode: EngineServiceMode;
  UpdateConfig?: EngineUpdateConfig;
  RollbackConfig?: EngineUpdateConfig;
  EndpointSpec?: EngineEndpointSpec;
}

export type EngineUpdateState = 'updating' | 'paused' | 'completed' | 'rollback_started' | 'rollback_paused' | 'rollback_completed';

export interface EngineService {
  ID: string;
  Version: { Index: number };
  CreatedAt?: string;
  UpdatedAt?: string;
  Spec: EngineServiceSpec;
  PreviousSpec?: EngineServiceSpec;
  Endpoint?: {
    Spec?: EngineEndpointSpec;
    Ports?: EnginePortConfig[];
    VirtualIPs?: { NetworkID: string; Addr?: string }[];
  };
  UpdateStatus?: { State?: EngineUpdateState; StartedAt?: string; CompletedAt?: string; Message?: string };
  /** Only with `?status=true`. */
  ServiceStatus?: { RunningTasks: number; DesiredTasks: number; CompletedTasks?: number };
}

export type EngineTaskState =
  | 'new'
  | 'allocated'
  | 'pending'
  | 'assigned'
  | 'accepted'
  | 'preparing'
  | 'ready'
  | 'starting'
  | 'running'
  | 'complete'
  | 'shutdown'
  | 'failed'
  | 'rejected'
  | 'remove'
  | 'orphaned';

export interface EngineTask {
  ID: string;
  Version?: { Index: number };
  CreatedAt?: string;
  UpdatedAt?: string;
  Spec: EngineTaskSpec;
  ServiceID: string;
  /** Replicated services only; global tasks are identified by node. */
  Slot?: number;
  NodeID?: string;
  Status: {
    Timestamp?: string;
    State: EngineTaskState;
    Message?: string;
    Err?: string;
    ContainerStatus?: { ContainerID?: string; PID?: number; ExitCode?: number };
  };
  DesiredState: EngineTaskState;
  NetworksAttachments?: { Network: { ID: string; Spec?: { Name?: string } }; Addresses?: string[] }[];
}

export interface EngineNode {
  ID: string;
  Description?: {
    Hostname?: string;
    Resources?: { NanoCPUs?: number; MemoryBytes?: number };
    Engine?: { EngineVersion?: string };
  };
  Spec: { Role?: 'manager' | 'worker'; Availability?: 'active' | 'pause' | 'drain'; Labels?: Labels };
  Status: { State?: 'unknown' | 'down' | 'ready' | 'disconnected'; Addr?: string; Message?: string };
  ManagerStatus?: { Leader?: boolean; Reachability?: string; Addr?: string };
}

export interface EngineNetwork {
  Id: string;
  Name: string;
  Labels?: Labels | null;
  Driver?: string;
  Scope?: string;
}

export interface EngineVolume {
  Name: string;
  Driver: string;
  Labels: Labels | null;
  Options?: Record<string, string> | null;
  CreatedAt?: string;
  Scope?: string;
}

export interface EngineContainer {
  Id: string;
  Names: string[];
  Labels: Labels;
  State: string;
  Image?: string;
}

export interface EngineEvent {
  Type: string;
  Action: string;
  Actor: { ID: string; Attributes?: Labels };
  scope?: string;
  time: number;
  /**
   * Nanoseconds since the epoch, as the decimal text the engine sent: the number itself exceeds
   * 2^53, and the cursor must round-trip exactly.
   */
  timeNano: string;
}

/** Container stats, one shot (`stream=false`): cgroup v1 and v2 field names both appear. */
export interface EngineStats {
  read: string;
  cpu_stats?: { cpu_usage?: { total_usage?: number }; system_cpu_usage?: number; online_cpus?: number };
  precpu_stats?: { cpu_usage?: { total_usage?: number }; system_cpu_usage?: number };
  memory_stats?: { usage?: number; limit?: number; stats?: Record<string, number> };
  networks?: Record<string, { rx_bytes?: number; tx_bytes?: number }>;
  blkio_stats?: { io_service_bytes_recursive?: { op: string; value: number }[] | null };
}

export interface EngineInfo {
  /** The engine host's name. */
  Name?: string;
  ServerVersion?: string;
  Swarm?: { LocalNodeState?: string; ControlAvailable?: boolean; NodeID?: string; Error?: string };
}

/** A service's use of a secret: the engine needs its ID; Berth renders the name and fills the ID in. */
export interface EngineSecretReference {
  SecretID?: string;
  SecretName: string;
  File: { Name: string; UID: string; GID: string; Mode: number };
}

/** A secret as the engine lists it (the value is never returned). */
export interface EngineSecret {
  ID: string;
  Spec: { Name: string; Labels?: Labels };
}
