import { JobSpec, canonicalJson, formatDuration } from '@berth/model';
import {
  LABEL,
  rolloutBatches,
  type ClusterEvent,
  type Endpoint,
  type JobRun,
  type JobStatus,
  type NodeInfo,
  type PublishedPort,
  type ReplicaCounts,
  type RolloutState,
  type RolloutStatus,
  type ServiceDiscovery,
  type ServiceStatus,
  type StatsSample,
  type VolumeInfo,
  type VolumeKind,
} from '@berth/driver';
import { SLOT_TEMPLATE, SWARM_LABEL, readServiceSpec, splitNativeName } from './swarm-spec.mapper.js';
import type {
  EngineContainer,
  EngineEvent,
  EngineNode,
  EnginePortConfig,
  EngineService,
  EngineStats,
  EngineTask,
  EngineTaskSpec,
  EngineUpdateConfig,
  EngineVolume,
} from './swarm-engine.types.js';

/** What a status needs besides the service and its tasks: read once per call, shared by every service. */
export interface ClusterView {
  /** Node ID -> hostname. */
  nodeNames: ReadonlyMap<string, string>;
}

/**
 * The app network's ID as the engine stores it: Berth attaches a service to exactly one network,
 * its app's, and the engine keeps the ID in the spec.
 */
const appNetworkId = (service: EngineService): string | undefined => service.Spec.TaskTemplate.Networks?.[0]?.Target;

const VOLUME_KINDS: ReadonlySet<string> = new Set<VolumeKind>(['implicit', 'named', 'hostPath', 'shared']);

const stripPrefixLength = (cidr: string): string => cidr.replace(/\/\d+$/, '');

/** A task runs the service's current spec. The engine adds `Runtime` to the service's template only. */
export function sameTaskSpec(a: EngineTaskSpec, b: EngineTaskSpec): boolean {
  const known = compared.get(a);
  if (known?.with === b) return known.same;
  const { Runtime: _a, ...left } = a;
  const { Runtime: _b, ...right } = b;
  const same = canonicalJson(left) === canonicalJson(right);
  compared.set(a, { with: b, same });
  return same;
}

/**
 * The last comparison of each task spec: the read model holds the same task and service objects
 * across reads (and replaces them, never changes them), and comparing them was most of what mapping
 * its tasks cost.
 */
const compared = new WeakMap<EngineTaskSpec, { with: EngineTaskSpec; same: boolean }>();

export const isRunning = (t: EngineTask): boolean => t.Status.State === 'running' && t.DesiredState === 'running';

const TASK_FAILED = new Set(['failed', 'rejected']);

export function desiredReplicas(service: EngineService, tasks: EngineTask[]): number {
  const replicas = service.Spec.Mode.Replicated?.Replicas;
  if (replicas !== undefined) return replicas;
  // global: one per eligible node, which only the engine knows (ServiceStatus), or as many as it scheduled
  return service.ServiceStatus?.DesiredTasks ?? new Set(tasks.filter((t) => t.DesiredState === 'running').map((t) => t.NodeID)).size;
}

export function replicaCounts(service: EngineService, tasks: EngineTask[]): ReplicaCounts {
  const running = tasks.filter(isRunning);
  const updated = running.filter((t) => sameTaskSpec(t.Spec, service.Spec.TaskTemplate)).length;
  // Swarm only reports a task "running" after its health check passed, so running replicas are ready.
  return { desired: desiredReplicas(service, tasks), running: running.length, ready: running.length, updated };
}

const UPDATE_STATES: Record<string, RolloutState> = {
  updating: 'progressing',
  paused: 'paused',
  completed: 'completed',
  rollback_started: 'rolling-back',
  rollback_completed: 'rolled-back',
  // the rollback itself stopped: nothing more will happen without a person
  rollback_paused: 'failed',
};

function batches(policy: EngineUpdateConfig | undefined, counts: ReplicaCounts, done: boolean): RolloutStatus['batches'] {
  return rolloutBatches(policy?.Parallelism ?? 1, counts.desired, counts.updated, done);
}

/**
 * The rollout of a service, from the engine's UpdateStatus and the tasks. Without an UpdateStatus
 * (a new service, or an update the engine has accepted but not yet started: it clears UpdateStatus
 * on every spec change), the rollout is done when every desired replica runs the current spec.
 */
export function rolloutFrom(service: EngineService, tasks: EngineTask[]): RolloutStatus {
  const replicas = replicaCounts(service, tasks);
  const update = service.UpdateStatus;
  const since = update?.StartedAt ?? service.UpdatedAt ?? service.CreatedAt;
  const sinceMs = since ? Date.parse(since) : 0;
  const failedTasks = tasks.filter((t) => TASK_FAILED.has(t.Status.State) && Date.parse(t.CreatedAt ?? '') >= sinceMs);
  const lastError = failedTasks.map((t) => t.Status.Err ?? t.Status.Message).find(Boolean);

  let state: RolloutState;
  let message = update?.Message;
  if (update?.State) {
    state = UPDATE_STATES[update.State] ?? 'progressing';
  } else {
    const stale = tasks.filter((t) => isRunning(t) && !sameTaskSpec(t.Spec, service.Spec.TaskTemplate)).length;
    state = replicas.updated >= replicas.desired && stale === 0 ? 'completed' : 'progressing';
    if (state === 'progressing') message = `${replicas.updated} of ${replicas.desired} replicas run the current spec`;
  }
  if (!message && (state === 'rolled-back' || state === 'failed' || state === 'paused')) message = lastError ?? `update ${state}`;
  if (lastError && state !== 'completed' && message && !message.includes(lastError)) message = `${message} (last task error: ${lastError})`;

  const policy = state === 'rolling-back' || state === 'rolled-back' ? service.Spec.RollbackConfig : service.Spec.UpdateConfig;
  // without an UpdateStatus, the rollout ended when the last replica on the current spec started
  const lastStarted = tasks
    .filter((t) => isRunning(t) && sameTaskSpec(t.Spec, service.Spec.TaskTemplate))
    .map((t) => t.Status.Timestamp ?? '')
    .sort()
    .pop();
  const completedAt = update?.State ? update.CompletedAt : state === 'completed' ? lastStarted || service.UpdatedAt : undefined;
  return {
    state,
    ...(message ? { message } : {}),
    replicas,
    failed: failedTasks.length,
    batches: batches(policy, replicas, state === 'completed'),
    ...(since ? { startedAt: since } : {}),
    ...(completedAt ? { completedAt } : {}),
  };
}

function publishedPort(p: EnginePortConfig): PublishedPort {
  return {
    target: p.TargetPort,
    ...(p.PublishedPort ? { published: p.PublishedPort } : {}),
    protocol: p.Protocol === 'udp' ? 'udp' : 'tcp',
    mode: p.PublishMode === 'host' ? 'host' : 'ingress',
  };
}

/** The hostname a task's container gets: Berth only templates the slot. */
function taskHostname(t: EngineTask): string | undefined {
  return t.Spec.ContainerSpec.Hostname?.replaceAll(SLOT_TEMPLATE, String(t.Slot ?? ''));
}

function endpointFrom(t: EngineTask, networkId: string | undefined, view: ClusterView): Endpoint {
  const attachment = t.NetworksAttachments?.find((a) => a.Network.ID === networkId) ?? t.NetworksAttachments?.[0];
  const address = attachment?.Addresses?.[0];
  const hostname = taskHostname(t);
  const node = t.NodeID ? (view.nodeNames.get(t.NodeID) ?? t.NodeID) : undefined;
  return {
    id: t.ID,
    replica: t.Slot !== undefined ? String(t.Slot) : (t.NodeID ?? t.ID),
    ...(node ? { node } : {}),
    ...(address ? { address: stripPrefixLength(address) } : {}),
    ...(hostname ? { hostname } : {}),
    state: t.Status.State,
    ready: isRunning(t),
    image: t.Spec.ContainerSpec.Image,
  };
}

const bySlot = (a: Endpoint, b: Endpoint): number => Number(a.replica) - Number(b.replica) || a.replica.localeCompare(b.replica);

export function discoveryFrom(service: EngineService, tasks: EngineTask[], view: ClusterView): ServiceDiscovery {
  const name = service.Spec.Name;
  const dnsName = service.Spec.Labels[LABEL.service] ?? splitNativeName(name)?.rest ?? name;
  const networkId = appNetworkId(service);
  const vips = (service.Endpoint?.VirtualIPs ?? []).filter((v) => v.NetworkID === networkId && v.Addr).map((v) => stripPrefixLength(v.Addr!));
  // Endpoint.Ports has the ports the engine assigned; host-mode ports without a fixed number appear only in the spec
  const ports = service.Endpoint?.Ports?.length ? service.Endpoint.Ports : (service.Spec.EndpointSpec?.Ports ?? []);
  return {
    dnsName,
    aliases: [`tasks.${name}`, name],
    virtualIps: vips,
    ports: ports.map(publishedPort),
    endpoints: tasks
      .filter((t) => t.DesiredState === 'running')
      .map((t) => endpointFrom(t, networkId, view))
      .sort(bySlot),
  };
}

export function serviceStatusFrom(service: EngineService, tasks: EngineTask[], view: ClusterView): ServiceStatus {
  const labels = service.Spec.Labels;
  const spec = readServiceSpec(labels);
  const split = splitNativeName(service.Spec.Name);
  return {
    app: labels[LABEL.app] ?? split?.app ?? '',
    service: labels[LABEL.service] ?? split?.rest ?? service.Spec.Name,
    id: service.ID,
    version: String(service.Version.Index),
    image: service.Spec.TaskTemplate.ContainerSpec.Image,
    mode: service.Spec.Mode.Global ? 'global' : 'replicated',
    stateful: spec?.stateful ?? (service.Spec.EndpointSpec?.Mode === 'dnsrr' && !!service.Spec.TaskTemplate.ContainerSpec.Hostname?.includes(SLOT_TEMPLATE)),
    replicas: replicaCounts(service, tasks),
    discovery: discoveryFrom(service, tasks, view),
    ...(spec ? { spec } : {}),
    ...(labels[LABEL.specHash] ? { specHash: labels[LABEL.specHash] } : {}),
    rollout: rolloutFrom(service, tasks),
    ...(service.CreatedAt ? { createdAt: service.CreatedAt } : {}),
    ...(service.UpdatedAt ? { updatedAt: service.UpdatedAt } : {}),
  };
}

function runState(t: EngineTask): JobRun['state'] {
  switch (t.Status.State) {
    case 'complete':
      return 'succeeded';
    case 'running':
      return 'running';
    case 'failed':
    case 'rejected':
    case 'shutdown':
    case 'orphaned':
    case 'remove':
      return 'failed';
    default:
      return 'pending';
  }
}

function jobRun(t: EngineTask, view: ClusterView): JobRun {
  const state = runState(t);
  const ended = state === 'succeeded' || state === 'failed';
  const exitCode = t.Status.ContainerStatus?.ExitCode;
  const node = t.NodeID ? (view.nodeNames.get(t.NodeID) ?? t.NodeID) : undefined;
  const message = t.Status.Err ?? t.Status.Message;
  return {
    id: t.ID,
    state,
    ...(ended && exitCode !== undefined ? { exitCode } : {}),
    ...(node ? { node } : {}),
    ...(message ? { message } : {}),
    ...(t.CreatedAt ? { startedAt: t.CreatedAt } : {}),
    ...(ended && t.Status.Timestamp ? { finishedAt: t.Status.Timestamp } : {}),
  };
}

/** A job run's state from its replicated-job service and tasks; `now` makes the timeout check testable. */
export function jobStatusFrom(app: string, name: string, service: EngineService, tasks: EngineTask[], view: ClusterView, now = Date.now()): JobStatus {
  const parsed = JobSpec.safeParse(JSON.parse(service.Spec.Labels[LABEL.spec] ?? 'null'));
  const job = parsed.success ? parsed.data : undefined;
  const runs = tasks.map((t) => jobRun(t, view)).sort((a, b) => (a.startedAt ?? '').localeCompare(b.startedAt ?? ''));
  const desired = service.Spec.Mode.ReplicatedJob?.TotalCompletions ?? 1;
  const count = (s: JobRun['state']) => runs.filter((r) => r.state === s).length;
  // The engine's count survives task history pruning; the tasks give the exit codes.
  const succeeded = Math.max(count('succeeded'), service.ServiceStatus?.CompletedTasks ?? 0);
  const failed = count('failed');
  const active = count('running') + count('pending');
  const backoffLimit = job?.backoffLimit ?? 0;

  let state: JobStatus['state'];
  let message: string | undefined;
  if (succeeded >= desired) state = 'succeeded';
  else if (failed > backoffLimit || (failed > 0 && active === 0)) {
    state = 'failed';
    const lastFailed = [...runs].reverse().find((r) => r.state === 'failed');
    message = `${failed} run(s) failed${lastFailed?.exitCode !== undefined ? `, last with exit code ${lastFailed.exitCode}` : ''}${lastFailed?.message ? `: ${lastFailed.message}` : ''}`;
  } else state = count('running') > 0 ? 'running' : 'pending';

  const startedAt = service.CreatedAt;
  if ((state === 'running' || state === 'pending') && job?.timeout !== undefined && startedAt && now - Date.parse(startedAt) > job.timeout) {
    // Swarm has no job deadline: Berth reports the overrun; removing the job stops it.
    state = 'failed';
    message = `ran longer than its timeout of ${formatDuration(job.timeout)}; Swarm does not stop it by itself: remove the job`;
  }
  const finished = runs
    .map((r) => r.finishedAt)
    .filter((t): t is string => !!t)
    .sort();
  return {
    app,
    name,
    state,
    ...(message ? { message } : {}),
    completions: { desired, succeeded, failed, active },
    runs,
    ...(startedAt ? { startedAt } : {}),
    ...((state === 'succeeded' || state === 'failed') && finished.length ? { completedAt: finished[finished.length - 1]! } : {}),
  };
}

export function nodeInfoFrom(node: EngineNode): NodeInfo {
  const status = node.Status.State === 'ready' ? 'ready' : node.Status.State === 'down' || node.Status.State === 'disconnected' ? 'down' : 'unknown';
  const resources = node.Description?.Resources;
  const address = node.ManagerStatus?.Addr?.replace(/:\d+$/, '') ?? node.Status.Addr;
  return {
    id: node.ID,
    name: node.Description?.Hostname ?? node.ID,
    role: node.Spec.Role === 'manager' ? 'manager' : 'worker',
    status,
    ...(node.Spec.Availability ? { availability: node.Spec.Availability } : {}),
    ...(address ? { address } : {}),
    ...(node.Description?.Engine?.EngineVersion ? { version: node.Description.Engine.EngineVersion } : {}),
    labels: node.Spec.Labels ?? {},
    ...(resources?.NanoCPUs ? { cpus: resources.NanoCPUs / 1e9 } : {}),
    ...(resources?.MemoryBytes ? { memoryBytes: resources.MemoryBytes } : {}),
  };
}

export function volumeInfoFrom(v: EngineVolume, node?: string): VolumeInfo {
  const labels = v.Labels ?? {};
  const app = labels[LABEL.app];
  const kind = labels[LABEL.volumeKind];
  return {
    name: app && v.Name.startsWith(`${app}_`) ? v.Name.slice(app.length + 1) : v.Name,
    nativeName: v.Name,
    ...(app ? { app } : {}),
    kind: kind && VOLUME_KINDS.has(kind) ? (kind as VolumeKind) : 'named',
    driver: v.Driver,
    status: 'available',
    ...(node ? { node } : {}),
    labels,
    ...(v.CreatedAt ? { createdAt: v.CreatedAt } : {}),
  };
}

/** Nanosecond text -> the engine's `since` format ("seconds.nanoseconds"). */
export function sinceParam(cursor: string): string {
  const ns = BigInt(cursor);
  return `${ns / 1_000_000_000n}.${(ns % 1_000_000_000n).toString().padStart(9, '0')}`;
}

function eventMessage(e: EngineEvent, attrs: Record<string, string>): string | undefined {
  if (attrs['updatestate.new']) return `update ${attrs['updatestate.old'] ?? ''} -> ${attrs['updatestate.new']}`.replace('  ', ' ');
  if (attrs['replicas.new']) return `replicas ${attrs['replicas.old'] ?? '?'} -> ${attrs['replicas.new']}`;
  if (e.Action === 'die' && attrs.exitCode) return `exited with code ${attrs.exitCode}`;
  return undefined;
}

/** One line of /events; `timeNano` is taken from the text, because JSON numbers lose its last digits. */
export function parseEngineEvent(line: string): EngineEvent | undefined {
  try {
    const event = JSON.parse(line) as Omit<EngineEvent, 'timeNano'> & { timeNano?: number };
    const timeNano = /"timeNano":\s*(\d+)/.exec(line)?.[1] ?? String(BigInt(event.time) * 1_000_000_000n);
    return { ...event, Actor: event.Actor ?? { ID: '' }, timeNano };
  } catch {
    return undefined;
  }
}

/** An engine event as a ClusterEvent; the app and service come from labels, or from `<app>_<name>` names. */
export function eventFrom(e: EngineEvent): ClusterEvent {
  const attrs = e.Actor.Attributes ?? {};
  const objectName = attrs.name ?? e.Actor.ID;
  const ownerService = attrs[SWARM_LABEL.serviceName] ?? (e.Type === 'service' ? objectName : undefined);
  const owner = ownerService ? splitNativeName(ownerService) : e.Type === 'network' || e.Type === 'volume' ? splitNativeName(objectName) : undefined;
  const app = attrs[LABEL.app] ?? attrs[LABEL.stackNamespace] ?? owner?.app;
  const service = attrs[LABEL.service] ?? (ownerService ? owner?.rest : undefined);
  const message = eventMessage(e, attrs);
  return {
    id: `${e.timeNano}-${e.Actor.ID}-${e.Action}`,
    cursor: e.timeNano,
    time: new Date(Number(BigInt(e.timeNano) / 1_000_000n)).toISOString(),
    objectKind: e.Type,
    objectName,
    ...(app ? { app } : {}),
    ...(service ? { service } : {}),
    action: e.Action,
    ...(message ? { message } : {}),
    attributes: attrs,
  };
}

/** Page cache is reclaimable: report memory the way `docker stats` does (cgroup v1 and v2 names). */
function workingSet(m: NonNullable<EngineStats['memory_stats']>): number {
  const usage = m.usage ?? 0;
  const cache = m.stats?.total_inactive_file ?? m.stats?.inactive_file ?? 0;
  return cache < usage ? usage - cache : usage;
}

/** One sample from a one-shot stats read; undefined for a container that stopped meanwhile (no memory reading). */
export function statsFrom(c: EngineContainer, s: EngineStats, node?: string): StatsSample | undefined {
  if (!s.memory_stats?.usage) return undefined;
  const cpu = (s.cpu_stats?.cpu_usage?.total_usage ?? 0) - (s.precpu_stats?.cpu_usage?.total_usage ?? 0);
  const system = (s.cpu_stats?.system_cpu_usage ?? 0) - (s.precpu_stats?.system_cpu_usage ?? 0);
  // system_cpu_usage advances by every CPU's time: the share of it, times the CPUs, is cores in use.
  const cpuCores = cpu > 0 && system > 0 ? (cpu / system) * (s.cpu_stats?.online_cpus ?? 1) : 0;
  const nets = Object.values(s.networks ?? {});
  const io = s.blkio_stats?.io_service_bytes_recursive ?? [];
  const ioSum = (op: string) => io.filter((e) => e.op.toLowerCase() === op).reduce((n, e) => n + e.value, 0);
  const labels = c.Labels ?? {};
  const owner = labels[SWARM_LABEL.serviceName] ? splitNativeName(labels[SWARM_LABEL.serviceName]!) : undefined;
  const app = labels[LABEL.app] ?? labels[LABEL.stackNamespace] ?? owner?.app;
  const service = labels[LABEL.service] ?? owner?.rest;
  const limit = s.memory_stats.limit;
  return {
    time: s.read,
    ...(app ? { app } : {}),
    ...(service ? { service } : {}),
    replica: (c.Names[0] ?? c.Id).replace(/^\//, ''),
    ...(node ? { node } : {}),
    cpuCores,
    memoryBytes: workingSet(s.memory_stats),
    ...(limit ? { memoryLimitBytes: limit } : {}),
    netRxBytes: nets.reduce((n, x) => n + (x.rx_bytes ?? 0), 0),
    netTxBytes: nets.reduce((n, x) => n + (x.tx_bytes ?? 0), 0),
    blockReadBytes: ioSum('read'),
    blockWriteBytes: ioSum('write'),
  };
}
