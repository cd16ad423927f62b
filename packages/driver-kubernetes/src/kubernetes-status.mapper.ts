import type {
  V1DaemonSet,
  V1Deployment,
  V1EndpointSlice,
  V1Job,
  V1Node,
  V1PersistentVolumeClaim,
  V1Pod,
  V1ReplicaSet,
  V1Service,
  V1StatefulSet,
} from '@kubernetes/client-node';
import { DEFAULT_UPDATE_POLICY, ServiceSpec, specHash } from '@berth/model';
import {
  LABEL,
  rolloutBatches,
  type ClusterEvent,
  type Endpoint,
  type JobRun,
  type JobStatus,
  type NodeInfo,
  type PublishedPort,
  type RolloutStatus,
  type ServiceDiscovery,
  type ServiceStatus,
  type VolumeInfo,
  type VolumeKind,
} from '@berth/driver';
import {
  ANNOTATION,
  governingPolicy,
  memberName,
  progressDeadlineSeconds,
  publishedServiceName,
  type RenderContext,
  type RolloutRecord,
  type WorkloadKind,
  type WorkloadState,
} from './kubernetes-objects.mapper.js';

export type Workload = V1Deployment | V1StatefulSet | V1DaemonSet;

const BINARY_SUFFIX: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
const DECIMAL_SUFFIX: Record<string, number> = { n: 1e-9, u: 1e-6, m: 1e-3, '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };

/** A Kubernetes quantity ("250m", "64Gi", "1e3") as a number; NaN when it is not one. */
export function parseQuantity(quantity: string): number {
  const m = /^([+-]?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)([a-zA-Z]*)$/.exec(quantity.trim());
  if (!m) return Number.NaN;
  const factor = BINARY_SUFFIX[m[2]!] ?? DECIMAL_SUFFIX[m[2]!];
  return factor === undefined ? Number.NaN : Number(m[1]) * factor;
}

/** client-node gives Date objects for typed reads and strings for watch events. */
export function iso(value: Date | string | undefined | null): string | undefined {
  if (!value) return undefined;
  const d = value instanceof Date ? value : new Date(value);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

function parseJson(text: string | undefined): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * Specs already parsed, by annotation text. Every read of a service parses its spec (twice: for its
 * rollout and its status), and parsing is most of what mapping a service costs; the text rarely
 * changes. Answers therefore share one parsed object per text: treat a read spec as read-only.
 */
const parsedSpecs = new Map<string, ServiceSpec | undefined>();
const PARSED_SPECS_MAX = 4096;
/** specHash() of each shared parsed spec. */
const specHashes = new WeakMap<ServiceSpec, string>();

/** The ServiceSpec in an annotation; undefined when missing or edited into something invalid. */
export function specFromAnnotation(text: string | undefined): ServiceSpec | undefined {
  if (!text) return undefined;
  if (parsedSpecs.has(text)) return parsedSpecs.get(text);
  const parsed = ServiceSpec.safeParse(parseJson(text));
  const spec = parsed.success ? parsed.data : undefined;
  if (parsedSpecs.size >= PARSED_SPECS_MAX) parsedSpecs.delete(parsedSpecs.keys().next().value!);
  parsedSpecs.set(text, spec);
  return spec;
}

function hashOf(spec: ServiceSpec): string {
  let hash = specHashes.get(spec);
  if (hash === undefined) specHashes.set(spec, (hash = specHash(spec)));
  return hash;
}

export function readSpec(obj: { metadata?: { annotations?: Record<string, string> } }): ServiceSpec | undefined {
  return specFromAnnotation(obj.metadata?.annotations?.[LABEL.spec]);
}

export function readState(obj: Workload): WorkloadState {
  const annotations = obj.metadata?.annotations ?? {};
  const previousSpec = specFromAnnotation(annotations[LABEL.previousSpec]);
  const record = parseJson(annotations[ANNOTATION.rollout]) as RolloutRecord | undefined;
  const rollout = record && typeof record.reason === 'string' && typeof record.startedAt === 'string' ? record : undefined;
  return { ...(previousSpec ? { previousSpec } : {}), ...(rollout ? { rollout } : {}), ...(rollout?.outcome === 'paused' ? { paused: true } : {}) };
}

export function readContext(obj: Workload): RenderContext {
  const ctx = parseJson(obj.metadata?.annotations?.[ANNOTATION.appContext]) as Partial<RenderContext> | undefined;
  return { appLabels: ctx?.appLabels ?? {}, volumes: ctx?.volumes ?? {} };
}

function terminating(pod: V1Pod): boolean {
  return Boolean(pod.metadata?.deletionTimestamp);
}

function podReady(pod: V1Pod): boolean {
  return pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/** How much longer the newest ready pod must stay ready to have been watched for `monitorMs`. */
function monitorLeftMs(pods: V1Pod[], monitorMs: number, now: number): number {
  const since = pods
    .filter((p) => !terminating(p))
    .map((p) => p.status?.conditions?.find((c) => c.type === 'Ready' && c.status === 'True')?.lastTransitionTime)
    .map((t) => (t ? new Date(t).getTime() : 0));
  return since.length ? monitorMs - (now - Math.max(...since)) : 0;
}

/** Container states that mean a replica failed, not merely that it is still starting. */
const CRASH_REASONS = new Set([
  'CrashLoopBackOff',
  'ErrImagePull',
  'ImagePullBackOff',
  'ErrImageNeverPull',
  'InvalidImageName',
  'CreateContainerConfigError',
  'CreateContainerError',
  'RunContainerError',
]);

/** Why a pod counts as failed during a rollout, or undefined when it has not failed. */
export function podFailure(pod: V1Pod): string | undefined {
  if (pod.status?.phase === 'Failed') return `${pod.metadata?.name} failed${pod.status.reason ? ` (${pod.status.reason})` : ''}`;
  for (const c of pod.status?.containerStatuses ?? []) {
    const waiting = c.state?.waiting?.reason;
    if (waiting && CRASH_REASONS.has(waiting)) return `${pod.metadata?.name}: ${waiting}${c.state?.waiting?.message ? `: ${c.state.waiting.message}` : ''}`;
    const exit = c.state?.terminated?.exitCode ?? c.lastState?.terminated?.exitCode;
    if (exit !== undefined && exit !== 0) return `${pod.metadata?.name}: container exited with code ${exit}`;
    if ((c.restartCount ?? 0) > 0) return `${pod.metadata?.name}: container restarted ${c.restartCount} time(s)`;
  }
  return undefined;
}

export interface WorkloadSnapshot {
  /** List items carry no kind, so the reader records which list it came from. */
  kind: WorkloadKind;
  workload: Workload;
  /** The service's pods (all revisions). */
  pods: V1Pod[];
  /**
   * The Deployment's ReplicaSets (empty for other kinds). Left out (undefined) only when
   * replicaSetsNeeded() said the Deployment's status does not depend on them.
   */
  replicaSets?: V1ReplicaSet[];
}

export interface RolloutAssessment {
  status: RolloutStatus;
  /** What the follower must do now: the rollout failed and its failure action is Berth's to carry out. */
  action?: 'rollback' | 'pause';
  /** Why the rollout failed, when it did. */
  failure?: string;
  /** The status changes by itself after this long, with nothing else changing (the monitor window ends): look again then. */
  recheckInMs?: number;
}

interface Progress {
  desired: number;
  updated: number;
  ready: number;
  available: number;
  complete: boolean;
  observed: boolean;
  newPods: V1Pod[];
  /** A controller-reported deadline failure (Deployments only). */
  deadline?: string;
  completedAt?: string;
}

/** The ReplicaSet of the Deployment's current template (the one its revision annotation names). */
export function newReplicaSet(d: V1Deployment, replicaSets: V1ReplicaSet[]): V1ReplicaSet | undefined {
  const revision = d.metadata?.annotations?.['deployment.kubernetes.io/revision'];
  return replicaSets.find(
    (rs) =>
      rs.metadata?.annotations?.['deployment.kubernetes.io/revision'] === revision && rs.metadata?.ownerReferences?.some((o) => o.uid === d.metadata?.uid),
  );
}

const deploymentObserved = (d: V1Deployment): boolean => (d.status?.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0);

/** As `kubectl rollout status`: the latest spec seen, every replica updated and available, and no old replica left. */
function deploymentComplete(d: V1Deployment): boolean {
  const s = d.status ?? {};
  const updated = s.updatedReplicas ?? 0;
  return deploymentObserved(d) && updated >= (d.spec?.replicas ?? 1) && (s.replicas ?? 0) <= updated && (s.availableReplicas ?? 0) >= updated;
}

/**
 * Whether a workload's status depends on its ReplicaSets, so that reading services need not list them.
 * Only a Deployment's do: they tell its new pods from the old ones, and name the ReplicaSet a deadline
 * condition is about. Even then they are not needed when the controller has not seen the latest spec
 * (nothing is read from them then), when there are no pods and no deadline condition, or once the
 * rollout is over: complete, and every pod a live one of one same template, as many as the controller
 * counts, so all of them are the new ones.
 */
export function replicaSetsNeeded({ kind, workload, pods }: WorkloadSnapshot): boolean {
  if (kind !== 'Deployment') return false;
  const d = workload as V1Deployment;
  if (!deploymentObserved(d)) return false;
  if (!pods.length) return d.status?.conditions?.some((c) => c.type === 'Progressing' && c.reason === 'ProgressDeadlineExceeded') ?? false;
  const hash = pods[0]!.metadata?.labels?.['pod-template-hash'];
  const settled =
    deploymentComplete(d) &&
    hash !== undefined &&
    pods.length === (d.status?.replicas ?? 0) &&
    pods.every((p) => !terminating(p) && p.metadata?.labels?.['pod-template-hash'] === hash);
  return !settled;
}

function deploymentProgress(d: V1Deployment, snap: WorkloadSnapshot): Progress {
  const desired = d.spec?.replicas ?? 1;
  const s = d.status ?? {};
  const observed = deploymentObserved(d);
  const rs = observed && snap.replicaSets ? newReplicaSet(d, snap.replicaSets) : undefined;
  const hash = rs?.metadata?.labels?.['pod-template-hash'];
  // without ReplicaSets (not needed, see replicaSetsNeeded) every pod of an observed Deployment is a new one
  const newPods = !snap.replicaSets ? (observed ? snap.pods : []) : hash ? snap.pods.filter((p) => p.metadata?.labels?.['pod-template-hash'] === hash) : [];
  const updated = s.updatedReplicas ?? 0;
  const available = s.availableReplicas ?? 0;
  const complete = deploymentComplete(d);
  const progressing = s.conditions?.find((c) => c.type === 'Progressing');
  // The condition outlives the ReplicaSet it was about (e.g. after a rollback); only trust it for the current one.
  const deadline =
    progressing?.reason === 'ProgressDeadlineExceeded' && rs?.metadata?.name && progressing.message?.includes(`"${rs.metadata.name}"`)
      ? progressing.message
      : undefined;
  const completedAt = complete && progressing?.reason === 'NewReplicaSetAvailable' ? iso(progressing.lastUpdateTime) : undefined;
  return {
    desired,
    updated,
    ready: s.readyReplicas ?? 0,
    available,
    complete,
    observed,
    newPods,
    ...(deadline ? { deadline } : {}),
    ...(completedAt ? { completedAt } : {}),
  };
}

function statefulSetProgress(s: V1StatefulSet, snap: WorkloadSnapshot): Progress {
  const desired = s.spec?.replicas ?? 1;
  const st = s.status ?? { replicas: 0 };
  const observed = (st.observedGeneration ?? 0) >= (s.metadata?.generation ?? 0);
  const newPods = st.updateRevision ? snap.pods.filter((p) => p.metadata?.labels?.['controller-revision-hash'] === st.updateRevision) : [];
  const updated = st.updatedReplicas ?? 0;
  const ready = st.readyReplicas ?? 0;
  const available = st.availableReplicas ?? ready;
  const revisionDone = !st.currentRevision || st.currentRevision === st.updateRevision;
  const complete = observed && updated >= desired && ready >= desired && available >= desired && (st.replicas ?? 0) <= desired && revisionDone;
  return { desired, updated, ready, available, complete, observed, newPods };
}

function daemonSetProgress(ds: V1DaemonSet, snap: WorkloadSnapshot): Progress {
  const st = ds.status ?? { currentNumberScheduled: 0, desiredNumberScheduled: 0, numberMisscheduled: 0, numberReady: 0 };
  const desired = st.desiredNumberScheduled;
  const observed = (st.observedGeneration ?? 0) >= (ds.metadata?.generation ?? 0);
  const generation = String(ds.metadata?.generation ?? '');
  const newPods = snap.pods.filter((p) => p.metadata?.labels?.['pod-template-generation'] === generation);
  const updated = st.updatedNumberScheduled ?? 0;
  const available = st.numberAvailable ?? 0;
  const complete = observed && updated >= desired && available >= desired;
  return { desired, updated, ready: st.numberReady, available, complete, observed, newPods };
}

function progressOf(snap: WorkloadSnapshot): Progress {
  switch (snap.kind) {
    case 'Deployment':
      return deploymentProgress(snap.workload as V1Deployment, snap);
    case 'StatefulSet':
      return statefulSetProgress(snap.workload as V1StatefulSet, snap);
    case 'DaemonSet':
      return daemonSetProgress(snap.workload as V1DaemonSet, snap);
  }
}

/**
 * Where the workload's current rollout stands, and whether Berth must act on a failure. Kubernetes
 * itself only stops a stuck Deployment (ProgressDeadlineExceeded); failure ratio, rollback and pause
 * are Berth's, decided here from the objects alone so that any gateway replica decides the same.
 * `stalledForMs` is how long the follower has seen no progress (StatefulSets and DaemonSets have
 * no deadline of their own).
 */
export function assessRollout(snap: WorkloadSnapshot, stalledForMs = 0, now = Date.now()): RolloutAssessment {
  const { kind, workload: w } = snap;
  const spec = readSpec(w);
  const state = readState(w);
  const record: RolloutRecord = state.rollout ?? { reason: 'apply', startedAt: iso(w.metadata?.creationTimestamp) ?? new Date(0).toISOString() };
  const policy = spec ? governingPolicy(spec, record) : DEFAULT_UPDATE_POLICY;
  const progress = progressOf(snap);
  const live = snap.pods.filter((p) => !terminating(p));
  const failures = progress.newPods.map(podFailure).filter((f): f is string => f !== undefined);
  const replicas = {
    desired: progress.desired,
    running: live.filter((p) => p.status?.phase === 'Running').length,
    ready: progress.ready,
    updated: progress.updated,
  };
  const base = {
    replicas,
    failed: failures.length,
    batches: rolloutBatches(policy.parallelism, progress.desired, progress.newPods.filter((p) => podReady(p) && !terminating(p)).length, progress.complete),
    startedAt: record.startedAt,
  };
  const rollingBack = record.reason === 'auto-rollback';
  const status = (state: RolloutStatus['state'], message?: string, extra: Partial<RolloutStatus> = {}): RolloutStatus => ({
    state,
    ...(message ? { message } : {}),
    ...base,
    ...extra,
  });

  if (record.outcome === 'paused' || (kind === 'Deployment' && (w as V1Deployment).spec?.paused)) {
    return { status: status('paused', record.message ?? 'the rollout is paused; apply or update the service to resume it') };
  }
  const inProgress = status(rollingBack ? 'rolling-back' : 'progressing', rollingBack ? record.message : undefined);
  const tooManyFailed = progress.desired > 0 && failures.length / progress.desired > policy.maxFailureRatio;
  if (progress.complete) {
    const completedAt = progress.completedAt ? { completedAt: progress.completedAt } : {};
    if (rollingBack) return { status: status('rolled-back', record.message, completedAt) };
    // Swarm watches each new replica for `monitor` after it starts; Kubernetes calls a rollout
    // complete the moment every new pod is ready, even one about to crash. An update (there is a
    // spec to go back to) is therefore complete only once its newest pod has stayed ready that long.
    const watching = state.previousSpec !== undefined ? monitorLeftMs(progress.newPods, policy.monitor, now) : 0;
    if (!tooManyFailed && watching <= 0) return { status: status('completed', undefined, completedAt) };
    if (!tooManyFailed)
      return {
        status: { ...inProgress, message: `new replicas ready; watching them for failures for ${policy.monitor / 1000}s (monitor)` },
        recheckInMs: watching,
      };
  }
  if (!progress.observed) return { status: inProgress };

  const deadlineSeconds = progressDeadlineSeconds(policy, spec?.healthCheck);
  let failure: string | undefined;
  let stuck = false;
  if (progress.deadline || (kind !== 'Deployment' && stalledForMs > deadlineSeconds * 1000)) {
    stuck = true;
    failure = `no progress for ${deadlineSeconds}s${progress.deadline ? ` (${progress.deadline})` : ''}`;
    const unready = progress.newPods.filter((p) => !terminating(p) && !podReady(p)).map((p) => p.metadata?.name ?? '');
    if (failures.length) failure += `; ${failures.slice(0, 3).join('; ')}`;
    else if (unready.length) failure += `; new replicas never became ready: ${unready.slice(0, 3).join(', ')}`;
  } else if (tooManyFailed) {
    failure = `${failures.length} of ${progress.desired} new replicas failed, more than the allowed ratio ${policy.maxFailureRatio}: ${failures.slice(0, 3).join('; ')}`;
  }
  if (!failure) return { status: inProgress };
  const what = rollingBack ? 'rollback' : 'rollout';
  switch (policy.failureAction) {
    case 'continue':
      // Kubernetes keeps trying after a deadline, but the rollout cannot end on its own: report it failed.
      if (stuck) return { status: status('failed', `${what} failed: ${failure} (failureAction continue: Kubernetes keeps trying)`), failure };
      return { status: { ...inProgress, message: `${failure}; continuing (failureAction continue)` } };
    case 'pause':
      return { status: status('failed', `${what} failed: ${failure}`), action: 'pause', failure };
    case 'rollback':
      if (!state.previousSpec) return { status: status('failed', `${what} failed: ${failure}; there is no previous spec to roll back to`), failure };
      return { status: status('failed', `${what} failed: ${failure}`), action: 'rollback', failure };
  }
}

function podState(pod: V1Pod): string {
  if (terminating(pod)) return 'terminating';
  return (pod.status?.phase ?? 'unknown').toLowerCase();
}

function containerImage(pod: V1Pod | undefined, container: string): string | undefined {
  const containers = pod?.spec?.containers ?? [];
  return (containers.find((c) => c.name === container) ?? containers[0])?.image;
}

/** Stateful replicas are known by ordinal, others by pod name. */
export function replicaId(pod: string, stateful: boolean, service: string): string {
  return stateful && pod.startsWith(`${service}-`) ? pod.slice(service.length + 1) : pod;
}

function discoveryPorts(name: string, spec: ServiceSpec | undefined, services: V1Service[]): PublishedPort[] {
  const primary = services.find((s) => s.metadata?.name === name);
  const published = services.find((s) => s.metadata?.name === publishedServiceName(name));
  const nodePort = (portName: string): number | undefined =>
    [published, primary].flatMap((s) => s?.spec?.ports ?? []).find((p) => p.name === portName && p.nodePort !== undefined)?.nodePort;
  if (spec) {
    return spec.ports.map((p) => {
      const port = p.mode === 'host' ? (p.published ?? p.target) : nodePort(`${p.protocol}-${p.target}`);
      return { target: p.target, protocol: p.protocol, mode: p.mode, ...(port !== undefined ? { published: port } : {}) };
    });
  }
  return (primary?.spec?.ports ?? []).map((p) => ({
    target: typeof p.targetPort === 'number' ? p.targetPort : p.port,
    protocol: p.protocol === 'UDP' ? 'udp' : 'tcp',
    mode: 'ingress',
    ...(p.nodePort !== undefined ? { published: p.nodePort } : {}),
  }));
}

export function discovery(
  app: string,
  name: string,
  kind: WorkloadKind,
  spec: ServiceSpec | undefined,
  desired: number,
  services: V1Service[],
  slices: V1EndpointSlice[],
  pods: V1Pod[],
): ServiceDiscovery {
  const stateful = kind === 'StatefulSet';
  const dnsName = `${name}.${app}.svc.cluster.local`;
  // Each member resolves by its plain name (a Service per member) and by the StatefulSet's own name.
  const perReplica = stateful ? Array.from({ length: desired }, (_, i) => [memberName(name, i), `${memberName(name, i)}.${dnsName}`]).flat() : [];
  const primary = services.find((s) => s.metadata?.name === name);
  const virtualIps = (primary?.spec?.clusterIPs ?? (primary?.spec?.clusterIP ? [primary.spec.clusterIP] : [])).filter((ip) => ip && ip !== 'None');
  const byPod = new Map<string, Endpoint>();
  for (const slice of slices.filter((s) => s.metadata?.labels?.['kubernetes.io/service-name'] === name)) {
    for (const ep of slice.endpoints ?? []) {
      // Terminating endpoints are on their way out; discovery lists the replicas that stay.
      if (ep.conditions?.terminating) continue;
      const podName = ep.targetRef?.kind === 'Pod' ? ep.targetRef.name : undefined;
      const key = podName ?? ep.addresses[0] ?? '';
      if (byPod.has(key)) continue;
      const pod = pods.find((p) => p.metadata?.name === podName);
      const image = containerImage(pod, name);
      const hostname = ep.hostname ?? pod?.spec?.hostname;
      const node = ep.nodeName ?? pod?.spec?.nodeName;
      byPod.set(key, {
        id: pod?.metadata?.uid ?? ep.targetRef?.uid ?? key,
        replica: podName ? replicaId(podName, stateful, name) : key,
        state: pod ? podState(pod) : 'unknown',
        ready: ep.conditions?.ready ?? false,
        ...(node ? { node } : {}),
        ...(ep.addresses[0] ? { address: ep.addresses[0] } : {}),
        ...(hostname ? { hostname } : {}),
        ...(image ? { image } : {}),
      });
    }
  }
  return {
    dnsName,
    aliases: [name, `${name}.${app}`, `${name}.${app}.svc`, ...perReplica],
    virtualIps,
    ports: discoveryPorts(name, spec, services),
    endpoints: [...byPod.values()].sort((a, b) => a.replica.localeCompare(b.replica, undefined, { numeric: true })),
  };
}

export interface ServiceSnapshot extends WorkloadSnapshot {
  services: V1Service[];
  slices: V1EndpointSlice[];
}

export function serviceStatus(snap: ServiceSnapshot, assessment: RolloutAssessment): ServiceStatus {
  const { kind, workload: w } = snap;
  const app = w.metadata?.namespace ?? '';
  const name = w.metadata?.labels?.[LABEL.service] ?? w.metadata?.name ?? '';
  const spec = readSpec(w);
  const times = (w.metadata?.managedFields ?? [])
    .map((f) => iso(f.time))
    .filter((t): t is string => t !== undefined)
    .sort();
  const createdAt = iso(w.metadata?.creationTimestamp);
  const updatedAt = times.at(-1);
  return {
    app,
    service: name,
    id: w.metadata?.uid ?? '',
    version: w.metadata?.resourceVersion ?? '',
    image: w.spec?.template.spec?.containers[0]?.image ?? '',
    mode: kind === 'DaemonSet' ? 'global' : 'replicated',
    stateful: kind === 'StatefulSet',
    replicas: assessment.status.replicas,
    discovery: discovery(app, name, kind, spec, assessment.status.replicas.desired, snap.services, snap.slices, snap.pods),
    ...(spec ? { spec, specHash: hashOf(spec) } : {}),
    rollout: assessment.status,
    ...(createdAt ? { createdAt } : {}),
    ...(updatedAt ? { updatedAt } : {}),
  };
}

function runOf(pod: V1Pod): JobRun {
  const phase = pod.status?.phase;
  const state: JobRun['state'] = phase === 'Succeeded' ? 'succeeded' : phase === 'Failed' ? 'failed' : phase === 'Running' ? 'running' : 'pending';
  const terminated = pod.status?.containerStatuses?.find((c) => c.state?.terminated)?.state?.terminated;
  const message = terminated?.message ?? terminated?.reason ?? pod.status?.message ?? pod.status?.reason;
  const node = pod.spec?.nodeName;
  const startedAt = iso(pod.status?.startTime);
  const finishedAt = iso(terminated?.finishedAt);
  return {
    id: pod.metadata?.name ?? '',
    state,
    ...(terminated ? { exitCode: terminated.exitCode } : {}),
    ...(node ? { node } : {}),
    ...(message ? { message } : {}),
    ...(startedAt ? { startedAt } : {}),
    ...(finishedAt ? { finishedAt } : {}),
  };
}

export function jobStatus(job: V1Job, pods: V1Pod[]): JobStatus {
  const s = job.status ?? {};
  const condition = (type: string) => s.conditions?.find((c) => c.type === type && c.status === 'True');
  const failed = condition('Failed');
  const complete = condition('Complete');
  const state: JobStatus['state'] = complete
    ? 'succeeded'
    : failed
      ? 'failed'
      : (s.active ?? 0) > 0 || (s.succeeded ?? 0) > 0 || (s.failed ?? 0) > 0
        ? 'running'
        : 'pending';
  const message = failed ? `${failed.reason ?? 'Failed'}: ${failed.message ?? ''}`.trim() : undefined;
  const startedAt = iso(s.startTime);
  const completedAt = iso(s.completionTime ?? failed?.lastTransitionTime);
  return {
    app: job.metadata?.labels?.[LABEL.app] ?? job.metadata?.namespace ?? '',
    name: job.metadata?.name ?? '',
    state,
    ...(message ? { message } : {}),
    completions: { desired: job.spec?.completions ?? 1, succeeded: s.succeeded ?? 0, failed: s.failed ?? 0, active: s.active ?? 0 },
    runs: pods.map(runOf).sort((a, b) => (a.startedAt ?? '').localeCompare(b.startedAt ?? '')),
    ...(startedAt ? { startedAt } : {}),
    ...(completedAt && state !== 'running' && state !== 'pending' ? { completedAt } : {}),
  };
}

const VOLUME_KINDS: ReadonlySet<string> = new Set<VolumeKind>(['implicit', 'named', 'hostPath', 'shared']);

/** A claim as a Berth volume; claims a StatefulSet made from a template ("data-db-1") are named "data-1". */
export function volumeInfo(pvc: V1PersistentVolumeClaim): VolumeInfo {
  const labels = pvc.metadata?.labels ?? {};
  const nativeName = pvc.metadata?.name ?? '';
  const volume = labels[LABEL.volume] ?? nativeName;
  const service = labels[LABEL.service];
  const perReplica = service ? new RegExp(`^${volume}-${service}-(\\d+)$`).exec(nativeName) : null;
  const kindLabel = labels[LABEL.volumeKind] ?? '';
  const size = pvc.status?.capacity?.storage ?? pvc.spec?.resources?.requests?.storage;
  const app = labels[LABEL.app] ?? pvc.metadata?.namespace;
  const createdAt = iso(pvc.metadata?.creationTimestamp);
  return {
    name: perReplica ? `${volume}-${perReplica[1]}` : volume,
    nativeName,
    kind: VOLUME_KINDS.has(kindLabel) ? (kindLabel as VolumeKind) : 'named',
    status: pvc.metadata?.deletionTimestamp ? 'Terminating' : (pvc.status?.phase ?? 'Pending'),
    labels,
    ...(app ? { app } : {}),
    ...(pvc.spec?.storageClassName ? { storageClass: pvc.spec.storageClassName } : {}),
    ...(size ? { size } : {}),
    ...(createdAt ? { createdAt } : {}),
  };
}

export function nodeInfo(node: V1Node): NodeInfo {
  const labels = node.metadata?.labels ?? {};
  const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
  const addresses = node.status?.addresses ?? [];
  const address = (addresses.find((a) => a.type === 'InternalIP') ?? addresses.find((a) => a.type === 'ExternalIP') ?? addresses[0])?.address;
  const cpus = parseQuantity(node.status?.capacity?.cpu ?? '');
  const memory = parseQuantity(node.status?.capacity?.memory ?? '');
  const version = node.status?.nodeInfo?.kubeletVersion;
  const controlPlane = 'node-role.kubernetes.io/control-plane' in labels || 'node-role.kubernetes.io/master' in labels;
  return {
    id: node.metadata?.uid ?? node.metadata?.name ?? '',
    name: node.metadata?.name ?? '',
    role: controlPlane ? 'control-plane' : 'worker',
    // A Ready condition of False or Unknown both mean the node runs no new work.
    status: !ready ? 'unknown' : ready.status === 'True' ? 'ready' : 'down',
    // Cordoning stops new work but keeps what runs: Swarm's "pause".
    availability: node.spec?.unschedulable ? 'pause' : 'active',
    labels,
    ...(address ? { address } : {}),
    ...(version ? { version } : {}),
    ...(Number.isFinite(cpus) ? { cpus } : {}),
    ...(Number.isFinite(memory) ? { memoryBytes: memory } : {}),
  };
}

/** A core/v1 Event as JSON (watch events arrive as JSON, not as client-node's typed objects). */
export interface EventJson {
  metadata: { uid?: string; resourceVersion?: string; namespace?: string; creationTimestamp?: string };
  involvedObject: { kind?: string; name?: string; namespace?: string; uid?: string; fieldPath?: string };
  reason?: string;
  message?: string;
  type?: string;
  count?: number;
  firstTimestamp?: string;
  lastTimestamp?: string;
  eventTime?: string;
  series?: { lastObservedTime?: string; count?: number };
  source?: { component?: string; host?: string };
  reportingComponent?: string;
}

/** The service an object belongs to, from its name: "web", "web-5d4f8", "web-5d4f8-x2x9z", "db-1". */
export function serviceFromName(objectName: string, services: Iterable<string>): string | undefined {
  let best: string | undefined;
  for (const s of services) {
    if ((objectName === s || objectName.startsWith(`${s}-`)) && (!best || s.length > best.length)) best = s;
  }
  return best;
}

/**
 * An event as a ClusterEvent. `services` are the app's service names (for the name-prefix match);
 * `app` is the namespace when it is a Berth app. The id pairs the uid with the resourceVersion, so
 * a repeated event (count + 1) is a new ClusterEvent while a relist yields the same ids again.
 */
export function clusterEvent(e: EventJson, app: string | undefined, services: Iterable<string>): ClusterEvent {
  const rv = e.metadata.resourceVersion ?? '';
  const time = e.series?.lastObservedTime ?? e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp ?? e.metadata.creationTimestamp ?? new Date().toISOString();
  const objectName = e.involvedObject.name ?? '';
  const service = app ? serviceFromName(objectName, services) : undefined;
  const attributes: Record<string, string> = {};
  const put = (k: string, v: string | number | undefined) => {
    if (v !== undefined && v !== '') attributes[k] = String(v);
  };
  put('type', e.type);
  put('reason', e.reason);
  put('namespace', e.involvedObject.namespace ?? e.metadata.namespace);
  put('count', e.series?.count ?? e.count);
  put('component', e.reportingComponent || e.source?.component);
  put('host', e.source?.host);
  put('fieldPath', e.involvedObject.fieldPath);
  return {
    id: `${e.metadata.uid ?? objectName}:${rv}`,
    cursor: rv,
    time: iso(time) ?? new Date().toISOString(),
    objectKind: e.involvedObject.kind ?? 'Unknown',
    objectName,
    ...(app ? { app } : {}),
    ...(service ? { service } : {}),
    action: e.reason ?? 'Unknown',
    ...(e.message ? { message: e.message } : {}),
    attributes,
  };
}
