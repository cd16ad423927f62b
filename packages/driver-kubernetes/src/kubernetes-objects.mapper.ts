import type {
  V1Affinity,
  V1Container,
  V1DaemonSet,
  V1Deployment,
  V1Job,
  V1Namespace,
  V1ObjectMeta,
  V1PersistentVolumeClaim,
  V1PodTemplateSpec,
  V1Probe,
  V1Service,
  V1ServicePort,
  V1StatefulSet,
  V1Volume,
  V1VolumeMount,
} from '@kubernetes/client-node';
import {
  SECRETS_DIR,
  rollbackPolicyOf,
  updatePolicyOf,
  canonicalJson,
  podSecurityLevel,
  specHash,
  type AppSpec,
  type PodSecurityLevel,
  type HealthCheck,
  type JobSpec,
  type Resources,
  type RollbackPolicy,
  type ServiceSpec,
  type UpdatePolicy,
  type VolumeDefinition,
  type VolumeMount,
} from '@berth/model';
import { DriverError, DriverErrorCode, LABEL, MANAGER, type DriverWarning, type SecretValue, type VolumeCreate } from '@berth/driver';

/** Annotations only this driver writes (the shared ones live in LABEL). */
export const ANNOTATION = {
  /** App-level inputs a service's objects depend on (app labels, volume definitions), so one service re-renders alone. */
  appContext: 'berth.io/app-context',
  /** What the current rollout is (update, rollback, Berth's automatic rollback) and how Berth acted on it. */
  rollout: 'berth.io/rollout',
} as const;

/** Namespaces an app may not take: Kubernetes' own, and the shared default. */
export function reservedNamespace(name: string): boolean {
  return name === 'default' || name.startsWith('kube-');
}

/** The container of a job's pods (a service's container is named after the service). */
export const JOB_CONTAINER = 'job';

/** Where jobs without an app run (JobSpec.app is optional). */
export const JOBS_NAMESPACE = 'berth-jobs';

/** Kubernetes' default NodePort range; a published port outside it cannot be a NodePort. */
export const NODE_PORT_RANGE = { min: 30000, max: 32767 } as const;

/**
 * The floor of the progress deadline (how long a rollout may make no progress before it counts as
 * failed). Swarm has no such deadline, only a failure watch of `monitor` after each replica starts;
 * 10 s keeps a stuck rollout's rollback quick (a test waits ~12 s for one), while the delay, monitor
 * and health-check timing of the policy lengthen it for slow services. A slow image pull counts
 * against it: raise `monitor` for services whose images take longer to pull.
 */
export const MIN_PROGRESS_DEADLINE_SECONDS = 10;

export type WorkloadKind = 'Deployment' | 'StatefulSet' | 'DaemonSet';

/** A native object as Berth writes it: apiVersion, kind, name (and namespace) are always set. */
export type KubeObject = {
  apiVersion: string;
  kind: string;
  metadata: V1ObjectMeta & { name: string };
  spec?: unknown;
};

export interface RenderedObject {
  object: KubeObject;
  /** The app service the object belongs to. */
  service?: string;
  /** Identity of what Berth rendered (also in the object's berth.io/spec-hash annotation). */
  hash: string;
}

/** App-level inputs of one service's objects. */
export interface RenderContext {
  appLabels: Record<string, string>;
  /** Definitions (size, class) of the volumes the service mounts, by source name. */
  volumes: Record<string, VolumeDefinition>;
}

export interface RolloutRecord {
  reason: 'apply' | 'update' | 'rollback' | 'auto-rollback';
  startedAt: string;
  /** Set when Berth paused the rollout because it failed (failureAction pause). */
  outcome?: 'paused';
  /** Why Berth acted (for auto-rollback: why the update was rolled back). */
  message?: string;
}

/** State kept on the workload between calls, so that a restarted gateway continues where it was. */
export interface WorkloadState {
  previousSpec?: ServiceSpec;
  rollout?: RolloutRecord;
  /** Halt the rollout (Deployment spec.paused, StatefulSet partition, DaemonSet OnDelete). */
  paused?: boolean;
}

export interface ServiceRender {
  /** The Service objects and the workload, in the order they are written. */
  objects: RenderedObject[];
  workload: RenderedObject;
  /** Claims of the named volumes of a replicated or global service (stateful ones use claim templates). */
  claims: RenderedObject[];
  warnings: DriverWarning[];
}

type RollingPolicy = Pick<UpdatePolicy, 'parallelism' | 'delay' | 'order' | 'monitor'>;

export function workloadKind(spec: ServiceSpec): WorkloadKind {
  if (spec.mode === 'global') return 'DaemonSet';
  return spec.stateful ? 'StatefulSet' : 'Deployment';
}

export function selectorLabels(app: string, service: string): Record<string, string> {
  return { [LABEL.app]: app, [LABEL.service]: service };
}

function baseLabels(app: string, ctx: RenderContext): Record<string, string> {
  return { ...ctx.appLabels, [LABEL.managedBy]: MANAGER, [LABEL.app]: app };
}

/** The policy that governs the rollout `record` describes: the rollback policy for rollbacks. */
export function governingPolicy(spec: ServiceSpec, record: RolloutRecord | undefined): UpdatePolicy | RollbackPolicy {
  if (record?.reason === 'rollback' || record?.reason === 'auto-rollback') return rollbackPolicyOf(spec);
  return updatePolicyOf(spec);
}

const seconds = (ms: number): number => Math.ceil(ms / 1000);

/**
 * Swarm's UpdateConfig in Kubernetes terms (ARCHITECTURE.md): the batch size becomes the surge
 * (start-first) or the unavailability budget (stop-first); the delay between batches becomes
 * minReadySeconds, since a replica then counts as available only after that long.
 */
export function rollingParams(policy: RollingPolicy): { maxSurge: number | string; maxUnavailable: number | string; minReadySeconds: number } {
  const batch: number | string = policy.parallelism === 0 ? '100%' : policy.parallelism;
  const minReadySeconds = seconds(policy.delay);
  return policy.order === 'start-first' ? { maxSurge: batch, maxUnavailable: 0, minReadySeconds } : { maxSurge: 0, maxUnavailable: batch, minReadySeconds };
}

/**
 * How long a rollout may go without progress before it counts as failed. A new replica has as long
 * as Docker would take to call it unhealthy (start period, then `retries` failed probes), then must
 * stay ready through the delay and the monitor window; Kubernetes needs the deadline to exceed
 * minReadySeconds.
 */
export function progressDeadlineSeconds(policy: RollingPolicy, healthCheck?: HealthCheck): number {
  const startUp = healthCheck ? healthCheck.startPeriod + healthCheck.interval * healthCheck.retries : 0;
  const minReady = seconds(policy.delay);
  return Math.max(MIN_PROGRESS_DEADLINE_SECONDS, minReady + 1, seconds(policy.delay + policy.monitor + startUp));
}

function resourceList(amounts: { cpus?: number; memoryBytes?: number } | undefined): Record<string, string> | undefined {
  if (!amounts) return undefined;
  const out: Record<string, string> = {};
  if (amounts.cpus !== undefined) out.cpu = `${Math.round(amounts.cpus * 1000)}m`;
  if (amounts.memoryBytes !== undefined) out.memory = String(amounts.memoryBytes);
  return Object.keys(out).length ? out : undefined;
}

function resourceRequirements(resources: Resources | undefined): V1Container['resources'] {
  if (!resources) return undefined;
  const limits = resourceList(resources.limits);
  const requests = resourceList(resources.reservations);
  if (!limits && !requests) return undefined;
  return { ...(limits ? { limits } : {}), ...(requests ? { requests } : {}) };
}

function probeCommand(check: HealthCheck): string[] {
  return check.test[0] === 'CMD-SHELL' ? ['/bin/sh', '-c', check.test.slice(1).join(' ')] : check.test.slice(1);
}

/**
 * Docker's health check as exec probes: readiness gates traffic and rollouts from the first probe
 * (a container is "starting" until it passes); liveness restarts it, but only after the start
 * period, which Docker also does not count against it.
 */
function probes(check: HealthCheck | undefined): { readinessProbe?: V1Probe; livenessProbe?: V1Probe } {
  if (!check) return {};
  const base: V1Probe = {
    exec: { command: probeCommand(check) },
    periodSeconds: Math.max(1, seconds(check.interval)),
    timeoutSeconds: Math.max(1, seconds(check.timeout)),
    failureThreshold: check.retries,
  };
  return { readinessProbe: base, livenessProbe: { ...base, initialDelaySeconds: seconds(check.startPeriod) } };
}

function envList(env: Record<string, string>): V1Container['env'] {
  const names = Object.keys(env).sort();
  return names.length ? names.map((name) => ({ name, value: env[name]! })) : undefined;
}

type ContainerPowers = Pick<ServiceSpec, 'privileged' | 'capAdd' | 'capDrop'>;

/** Kubernetes runs containers as numeric ids only: "1000" or "1000:1000". Privileged mode and capabilities as given. */
function securityContext(user: string | undefined, powers: ContainerPowers, path: string, warnings: DriverWarning[]): V1Container['securityContext'] {
  const out: NonNullable<V1Container['securityContext']> = {};
  if (user !== undefined) {
    const m = /^(\d+)(?::(\d+))?$/.exec(user);
    if (!m) {
      warnings.push({ path, message: `Kubernetes needs a numeric user id ("1000" or "1000:1000"); "${user}" is not applied, the image's user runs` });
    } else {
      out.runAsUser = Number(m[1]);
      if (m[2] !== undefined) out.runAsGroup = Number(m[2]);
    }
  }
  if (powers.privileged) out.privileged = true;
  if (powers.capAdd?.length || powers.capDrop?.length) {
    out.capabilities = { ...(powers.capAdd?.length ? { add: powers.capAdd } : {}), ...(powers.capDrop?.length ? { drop: powers.capDrop } : {}) };
  }
  return Object.keys(out).length ? out : undefined;
}

/** The Pod Security Admission labels of an app's namespace: the cluster enforces what Berth's policy let through, and no more. */
export const POD_SECURITY_ENFORCE = 'pod-security.kubernetes.io/enforce';
export function podSecurityLabels(level: PodSecurityLevel): Record<string, string> {
  return { [POD_SECURITY_ENFORCE]: level, 'pod-security.kubernetes.io/enforce-version': 'latest' };
}

function volumeName(mount: VolumeMount, index: number): string {
  switch (mount.type) {
    case 'implicit':
      return `scratch-${index}`;
    case 'hostPath':
      return `host-${index}`;
    case 'named':
    case 'shared':
      return mount.source;
  }
}

function claimSpec(kind: 'named' | 'shared', def: VolumeDefinition | undefined): V1PersistentVolumeClaim['spec'] {
  return {
    accessModes: [kind === 'shared' ? 'ReadWriteMany' : 'ReadWriteOnce'],
    resources: { requests: { storage: def?.size ?? '1Gi' } },
    ...(def?.storageClass ? { storageClassName: def.storageClass } : {}),
  };
}

function volumeLabels(
  app: string,
  name: string,
  kind: 'named' | 'shared',
  ctx: RenderContext,
  service?: string,
  extra?: Record<string, string>,
): Record<string, string> {
  return {
    ...(extra ?? {}),
    ...baseLabels(app, ctx),
    ...(service ? { [LABEL.service]: service } : {}),
    [LABEL.volume]: name,
    [LABEL.volumeKind]: kind,
  };
}

/** A claim for a named (per service, ReadWriteOnce) or shared (ReadWriteMany, with a class) volume. */
export function claimObject(
  app: string,
  name: string,
  kind: 'named' | 'shared',
  def: VolumeDefinition | VolumeCreate | undefined,
  ctx: RenderContext,
  service?: string,
): KubeObject {
  const obj: V1PersistentVolumeClaim & KubeObject = {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name, namespace: app, labels: volumeLabels(app, name, kind, ctx, service, def?.labels) },
    spec: claimSpec(kind, def),
  };
  return obj;
}

export function namespaceObject(app: string, appLabels: Record<string, string> = {}, level: PodSecurityLevel = 'baseline'): KubeObject {
  const ns: V1Namespace & KubeObject = {
    apiVersion: 'v1',
    kind: 'Namespace',
    // Berth's labels last: an app label cannot loosen the namespace's Pod Security level
    metadata: { name: app, labels: { ...appLabels, [LABEL.managedBy]: MANAGER, [LABEL.app]: app, ...podSecurityLabels(level) } },
  };
  return ns;
}

/** Swarm-style placement constraints: node labels and hostnames map to a nodeSelector; the rest is reported. */
function placement(
  app: string,
  name: string,
  spec: Pick<ServiceSpec, 'placement'>,
  path: string,
  warnings: DriverWarning[],
): { nodeSelector?: Record<string, string>; affinity?: V1Affinity } {
  const nodeSelector: Record<string, string> = {};
  (spec.placement?.constraints ?? []).forEach((constraint, i) => {
    const [, key = '', op, value = ''] = /^([\w.-]+)\s*(==|!=)\s*(\S+)$/.exec(constraint) ?? [];
    if (op === '==' && key.startsWith('node.labels.')) nodeSelector[key.slice('node.labels.'.length)] = value;
    else if (op === '==' && key === 'node.hostname') nodeSelector['kubernetes.io/hostname'] = value;
    else
      warnings.push({
        path: `${path}.placement.constraints[${i}]`,
        message: `"${constraint}" has no Kubernetes equivalent here (only node.labels.KEY==VALUE and node.hostname==NAME map to a nodeSelector); it is ignored`,
      });
  });
  const perNode = spec.placement?.maxReplicasPerNode;
  let affinity: V1Affinity | undefined;
  if (perNode === 1) {
    // One replica per node is a required anti-affinity on the hostname; larger limits have no exact equivalent.
    affinity = {
      podAntiAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: selectorLabels(app, name) } }],
      },
    };
  } else if (perNode !== undefined) {
    warnings.push({
      path: `${path}.placement.maxReplicasPerNode`,
      message: `Kubernetes cannot cap replicas per node at ${perNode} exactly; only 1 (anti-affinity) maps; ignored`,
    });
  }
  return { ...(Object.keys(nodeSelector).length ? { nodeSelector } : {}), ...(affinity ? { affinity } : {}) };
}

function restartWarnings(spec: ServiceSpec, path: string, warnings: DriverWarning[]): void {
  const restart = spec.restart;
  if (!restart) return;
  if (restart.condition !== 'any') {
    warnings.push({
      path: `${path}.restart.condition`,
      message: `Kubernetes always restarts the containers of a ${workloadKind(spec)}; "${restart.condition}" is not applied (use a job for run-once work)`,
    });
  }
  if (restart.maxAttempts !== undefined)
    warnings.push({ path: `${path}.restart.maxAttempts`, message: 'Kubernetes restarts without a limit (with back-off); ignored' });
  if (restart.delay !== undefined) warnings.push({ path: `${path}.restart.delay`, message: 'Kubernetes chooses the restart back-off itself; ignored' });
}

function container(
  name: string,
  spec: Pick<ServiceSpec, 'image' | 'entrypoint' | 'command' | 'env' | 'resources' | 'workingDir' | 'user'> &
    ContainerPowers & {
      ports?: ServiceSpec['ports'];
      healthCheck?: HealthCheck;
    },
  mounts: V1VolumeMount[],
  path: string,
  warnings: DriverWarning[],
): V1Container {
  const ports = (spec.ports ?? []).map((p) => ({
    name: `${p.protocol}-${p.target}`,
    containerPort: p.target,
    protocol: p.protocol.toUpperCase(),
    ...(p.mode === 'host' ? { hostPort: p.published ?? p.target } : {}),
  }));
  const resources = resourceRequirements(spec.resources);
  const security = securityContext(spec.user, spec, `${path}.user`, warnings);
  const env = envList(spec.env);
  return {
    name,
    image: spec.image,
    // Docker's ENTRYPOINT is Kubernetes' command, Docker's CMD its args.
    ...(spec.entrypoint ? { command: spec.entrypoint } : {}),
    ...(spec.command ? { args: spec.command } : {}),
    ...(env ? { env } : {}),
    ...(ports.length ? { ports } : {}),
    ...(resources ? { resources } : {}),
    ...(spec.workingDir ? { workingDir: spec.workingDir } : {}),
    ...(security ? { securityContext: security } : {}),
    ...(mounts.length ? { volumeMounts: mounts } : {}),
    ...probes(spec.healthCheck),
  };
}

/** Pod volumes and mounts; stateful named volumes become claim templates instead of pod volumes. */
function podVolumes(volumes: VolumeMount[], stateful: boolean): { volumes: V1Volume[]; mounts: V1VolumeMount[] } {
  const out: V1Volume[] = [];
  const mounts: V1VolumeMount[] = [];
  volumes.forEach((v, i) => {
    const name = volumeName(v, i);
    mounts.push({ name, mountPath: v.target, ...(v.type !== 'implicit' && v.readOnly ? { readOnly: true } : {}) });
    switch (v.type) {
      case 'implicit':
        out.push({ name, emptyDir: {} });
        break;
      case 'hostPath':
        out.push({ name, hostPath: { path: v.source } });
        break;
      case 'named':
        if (!stateful) out.push({ name, persistentVolumeClaim: { claimName: v.source } });
        break;
      case 'shared':
        out.push({ name, persistentVolumeClaim: { claimName: v.source } });
        break;
    }
  });
  return { volumes: out, mounts };
}

/** The key holding a secret's value in the Secret Berth writes. */
export const SECRET_KEY = 'value';
const SECRETS_VOLUME = 'berth-secrets';

/** Secrets are immutable and named by version: a new value is a new object, and the pod template change rolls the service. */
export const secretObjectName = (secret: string, version: string): string => `${secret}-${version}`;

export function secretObject(app: string, secret: SecretValue): KubeObject & { immutable: boolean; type: string; data: Record<string, string> } {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: secretObjectName(secret.name, secret.version),
      namespace: app,
      labels: { [LABEL.managedBy]: MANAGER, [LABEL.app]: app, [LABEL.secret]: secret.name, [LABEL.secretVersion]: secret.version },
    },
    immutable: true,
    type: 'Opaque',
    data: { [SECRET_KEY]: Buffer.from(secret.value, 'utf8').toString('base64') },
  };
}

/** All of a service's secrets in one projected volume at /run/secrets, one file each (as on Swarm). */
function secretVolume(spec: ServiceSpec): { volume: V1Volume; mount: V1VolumeMount } | undefined {
  if (!spec.secrets.length) return undefined;
  const sources = spec.secrets.map((s) => ({
    secret: { name: secretObjectName(s.source, s.version ?? ''), items: [{ key: SECRET_KEY, path: s.target ?? s.source, mode: s.mode }] },
  }));
  return {
    volume: { name: SECRETS_VOLUME, projected: { sources } },
    mount: { name: SECRETS_VOLUME, mountPath: SECRETS_DIR, readOnly: true },
  };
}

function podTemplate(app: string, name: string, spec: ServiceSpec, ctx: RenderContext, path: string, warnings: DriverWarning[]): V1PodTemplateSpec {
  const kind = workloadKind(spec);
  const { volumes, mounts } = podVolumes(spec.volumes, kind === 'StatefulSet');
  const secrets = secretVolume(spec);
  if (secrets) {
    volumes.push(secrets.volume);
    mounts.push(secrets.mount);
  }
  // Kubernetes has no device mapping: the device node is mounted from the host (access to it needs
  // privileged mode or a device plugin, as on any cluster)
  (spec.devices ?? []).forEach((d, i) => {
    volumes.push({ name: `device-${i}`, hostPath: { path: d.source } });
    mounts.push({ name: `device-${i}`, mountPath: d.target ?? d.source, ...(d.permissions.includes('w') ? {} : { readOnly: true }) });
  });
  if (spec.devices?.length && !spec.privileged) {
    warnings.push({
      path: `${path}.devices`,
      message: 'mounted from the node; without privileged mode or a device plugin the container may not be allowed to open them',
    });
  }
  const place = placement(app, name, spec, path, warnings);
  if (spec.hostname && kind === 'StatefulSet' && spec.hostname !== name) {
    warnings.push({ path: `${path}.hostname`, message: `Kubernetes names stateful replicas "${name}-<ordinal>"; the hostname "${spec.hostname}" is not used` });
  }
  return {
    metadata: { labels: { ...spec.labels, ...baseLabels(app, ctx), [LABEL.service]: name } },
    spec: {
      containers: [container(name, spec, mounts, path, warnings)],
      ...(volumes.length ? { volumes } : {}),
      ...place,
      ...(spec.hostname && kind !== 'StatefulSet' ? { hostname: spec.hostname } : {}),
      ...(spec.hostNetwork ? { hostNetwork: true, dnsPolicy: 'ClusterFirstWithHostNet' } : {}),
      ...(spec.hostPid ? { hostPID: true } : {}),
      ...(spec.hostIpc ? { hostIPC: true } : {}),
      ...(spec.stopGracePeriod !== undefined ? { terminationGracePeriodSeconds: seconds(spec.stopGracePeriod) } : {}),
    },
  };
}

function claimTemplates(app: string, name: string, spec: ServiceSpec, ctx: RenderContext): V1PersistentVolumeClaim[] {
  return spec.volumes
    .filter((v): v is Extract<VolumeMount, { type: 'named' }> => v.type === 'named')
    .map((v) => ({
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: v.source, labels: volumeLabels(app, v.source, 'named', ctx, name) },
      spec: claimSpec('named', ctx.volumes[v.source]),
    }));
}

/** The workload object; `state` adds what only matters while rolling (strategy for rollbacks, pause). */
function workloadObject(
  app: string,
  name: string,
  spec: ServiceSpec,
  ctx: RenderContext,
  state: WorkloadState,
  path: string,
  warnings: DriverWarning[],
): KubeObject {
  const kind = workloadKind(spec);
  const policy = governingPolicy(spec, state.rollout);
  const { maxSurge, maxUnavailable, minReadySeconds } = rollingParams(policy);
  const metadata: KubeObject['metadata'] = {
    name,
    namespace: app,
    labels: { ...spec.labels, ...baseLabels(app, ctx), [LABEL.service]: name },
    annotations: { [LABEL.spec]: canonicalJson(spec), [ANNOTATION.appContext]: canonicalJson(ctx) },
  };
  const selector = { matchLabels: selectorLabels(app, name) };
  const template = podTemplate(app, name, spec, ctx, path, warnings);
  switch (kind) {
    case 'Deployment': {
      const d: V1Deployment & KubeObject = {
        apiVersion: 'apps/v1',
        kind,
        metadata,
        spec: {
          replicas: spec.replicas,
          selector,
          template,
          strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge, maxUnavailable } },
          minReadySeconds,
          progressDeadlineSeconds: progressDeadlineSeconds(policy, spec.healthCheck),
          // Always written, so that a new apply resumes a rollout Berth (or anyone) paused.
          paused: state.paused ?? false,
        },
      };
      return d;
    }
    case 'StatefulSet': {
      if (policy.order === 'start-first') {
        warnings.push({
          path: `${path}.update.order`,
          message: 'a StatefulSet replaces each replica stop-first (a stable identity cannot run twice); start-first is not applied',
        });
      }
      const s: V1StatefulSet & KubeObject = {
        apiVersion: 'apps/v1',
        kind,
        metadata,
        spec: {
          replicas: spec.replicas,
          serviceName: name,
          selector,
          template,
          minReadySeconds,
          // partition = replicas halts the update where it is: the StatefulSet's way to pause.
          updateStrategy: {
            type: 'RollingUpdate',
            rollingUpdate: { maxUnavailable: maxUnavailable === 0 ? 1 : maxUnavailable, partition: state.paused ? spec.replicas : 0 },
          },
          volumeClaimTemplates: claimTemplates(app, name, spec, ctx),
          persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Retain' },
        },
      };
      return s;
    }
    case 'DaemonSet': {
      const ds: V1DaemonSet & KubeObject = {
        apiVersion: 'apps/v1',
        kind,
        metadata,
        spec: {
          selector,
          template,
          minReadySeconds,
          // OnDelete stops replacing pods: the DaemonSet's way to pause.
          updateStrategy: state.paused ? { type: 'OnDelete' } : { type: 'RollingUpdate', rollingUpdate: { maxSurge, maxUnavailable } },
        },
      };
      return ds;
    }
  }
}

function servicePort(p: ServiceSpec['ports'][number], warnings: DriverWarning[], path: string, nodePorts: boolean): V1ServicePort {
  const port: V1ServicePort = { name: `${p.protocol}-${p.target}`, port: p.target, targetPort: p.target, protocol: p.protocol.toUpperCase() };
  if (nodePorts && p.mode === 'ingress' && p.published !== undefined) {
    if (p.published >= NODE_PORT_RANGE.min && p.published <= NODE_PORT_RANGE.max) port.nodePort = p.published;
    else
      warnings.push({
        path,
        message: `published port ${p.published} is outside Kubernetes' NodePort range ${NODE_PORT_RANGE.min}-${NODE_PORT_RANGE.max}; Kubernetes assigns a node port instead (see the service's discovery)`,
      });
  }
  return port;
}

/**
 * Services give the DNS name: a ClusterIP (NodePort when a port is published through ingress) for
 * replicated and global services, headless for stateful ones (per-replica names) and for services
 * without ports (a ClusterIP needs one). Published ports of a stateful service get a NodePort
 * Service beside the headless one.
 */
function serviceObjects(app: string, name: string, spec: ServiceSpec, ctx: RenderContext, path: string, warnings: DriverWarning[]): KubeObject[] {
  const labels = { ...spec.labels, ...baseLabels(app, ctx), [LABEL.service]: name };
  const selector = selectorLabels(app, name);
  const ingress = spec.ports.some((p) => p.mode === 'ingress');
  const headless = spec.stateful || spec.ports.length === 0;
  const primary: V1Service & KubeObject = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: app, labels },
    spec: {
      selector,
      ...(headless ? { clusterIP: 'None' } : { type: ingress ? 'NodePort' : 'ClusterIP' }),
      ports: spec.ports.map((p, i) => servicePort(p, warnings, `${path}.ports[${i}].published`, !headless)),
    },
  };
  const out: KubeObject[] = [primary];
  if (headless && ingress) {
    const published: V1Service & KubeObject = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: publishedServiceName(name), namespace: app, labels },
      spec: {
        selector,
        type: 'NodePort',
        ports: spec.ports.flatMap((p, i) => (p.mode === 'ingress' ? [servicePort(p, warnings, `${path}.ports[${i}].published`, true)] : [])),
      },
    };
    out.push(published);
  }
  if (spec.stateful) out.push(...memberServices(app, name, spec, labels));
  return out;
}

/**
 * One headless Service per member of a stateful service, named as the member (`db-0`), so that the
 * plain member name resolves in the app's namespace like on Swarm, where each member is addressed
 * by its name too (a StatefulSet alone gives only `db-0.db`). Each selects its pod by the label the
 * StatefulSet controller sets, and publishes it before it is ready: a clustered database's members
 * must find each other to become ready at all. Scaling renders fewer and the driver prunes the rest.
 */
function memberServices(app: string, name: string, spec: ServiceSpec, labels: Record<string, string>): KubeObject[] {
  return Array.from({ length: spec.replicas }, (_, i): V1Service & KubeObject => ({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: memberName(name, i), namespace: app, labels: { ...labels, [LABEL.member]: String(i) } },
    spec: {
      selector: { ...selectorLabels(app, name), [STATEFULSET_POD_NAME]: memberName(name, i) },
      clusterIP: 'None',
      publishNotReadyAddresses: true,
      ports: spec.ports.map((p) => servicePort(p, [], '', false)),
    },
  }));
}

/** The label the StatefulSet controller puts on each of its pods, naming the pod. */
const STATEFULSET_POD_NAME = 'statefulset.kubernetes.io/pod-name';

/** The name of member `ordinal` of a stateful service, the same on every orchestrator. */
export function memberName(service: string, ordinal: number): string {
  return `${service}-${ordinal}`;
}

export function publishedServiceName(service: string): string {
  return `${service}-published`;
}

/** Hash of an object as rendered, ignoring the annotations that record history rather than desire. */
function objectHash(obj: KubeObject): string {
  const annotations = { ...(obj.metadata.annotations ?? {}) };
  for (const key of [LABEL.specHash, LABEL.previousSpec, ANNOTATION.rollout]) delete annotations[key];
  return specHash({ ...obj, metadata: { ...obj.metadata, annotations } });
}

function hashed(object: KubeObject, service: string | undefined, hash = objectHash(object)): RenderedObject {
  object.metadata.annotations = { ...(object.metadata.annotations ?? {}), [LABEL.specHash]: hash };
  return { object, hash, ...(service ? { service } : {}) };
}

/**
 * One service's objects: its Service(s), its workload, and the claims of its named volumes
 * (replicated and global services share one claim; stateful ones get claim templates instead).
 */
export function renderService(app: string, name: string, spec: ServiceSpec, ctx: RenderContext, state: WorkloadState = {}): ServiceRender {
  const path = `services.${name}`;
  const warnings: DriverWarning[] = [];
  const kind = workloadKind(spec);
  restartWarnings(spec, path, warnings);
  const objects: RenderedObject[] = serviceObjects(app, name, spec, ctx, path, warnings).map((o) => hashed(o, name));
  const claims: RenderedObject[] = [];
  if (kind !== 'StatefulSet') {
    spec.volumes.forEach((v, i) => {
      if (v.type !== 'named') return;
      if (kind === 'DaemonSet' || spec.replicas > 1) {
        warnings.push({
          path: `${path}.volumes[${i}]`,
          message: `all replicas share the ReadWriteOnce claim "${v.source}", so they must run on one node; use "stateful: true" for a volume per replica`,
        });
      }
      claims.push(hashed(claimObject(app, v.source, 'named', ctx.volumes[v.source], ctx, name), name));
    });
  }
  // The hash covers the canonical rendering (update strategy, not paused, no history), so a rollback
  // strategy or a pause written for one rollout does not make the same spec look changed.
  const hash = objectHash(workloadObject(app, name, spec, ctx, {}, path, warnings));
  const object = workloadObject(app, name, spec, ctx, state, path, []);
  if (state.previousSpec) object.metadata.annotations![LABEL.previousSpec] = canonicalJson(state.previousSpec);
  if (state.rollout) object.metadata.annotations![ANNOTATION.rollout] = JSON.stringify(state.rollout);
  const workload = hashed(object, name, hash);
  objects.push(workload);
  return { objects, workload, claims, warnings };
}

/** The render context of one service of `app`: the app's labels and the definitions of its volumes. */
export function contextFor(app: AppSpec, spec: ServiceSpec): RenderContext {
  const volumes: Record<string, VolumeDefinition> = {};
  for (const v of spec.volumes) {
    if ((v.type === 'named' || v.type === 'shared') && app.volumes[v.source]) volumes[v.source] = app.volumes[v.source]!;
  }
  return { appLabels: app.labels, volumes };
}

export interface AppRender {
  namespace: RenderedObject;
  /** Claims of shared volumes, and of named volumes of replicated/global services, once each. */
  claims: RenderedObject[];
  services: Map<string, ServiceRender>;
  warnings: DriverWarning[];
}

/** Every object of an app. `states` carries each existing workload's history into the render. */
export function renderApp(spec: AppSpec, states: ReadonlyMap<string, WorkloadState> = new Map()): AppRender {
  if (reservedNamespace(spec.name)) {
    throw new DriverError(DriverErrorCode.Invalid, `app name "${spec.name}" is a reserved Kubernetes namespace; choose another name`, [
      { path: 'name', message: 'reserved namespace (default, kube-*)' },
    ]);
  }
  const warnings: DriverWarning[] = [];
  const services = new Map<string, ServiceRender>();
  const claimUsers = new Map<string, { kind: 'named' | 'shared'; ctx: RenderContext; services: Set<string> }>();
  for (const [name, svc] of Object.entries(spec.services)) {
    const ctx = contextFor(spec, svc);
    const render = renderService(spec.name, name, svc, ctx, states.get(name));
    services.set(name, render);
    warnings.push(...render.warnings);
    const claimed = [
      ...render.claims.map((c) => ({ source: c.object.metadata.name, kind: 'named' as const })),
      ...svc.volumes.flatMap((v) => (v.type === 'shared' ? [{ source: v.source, kind: 'shared' as const }] : [])),
    ];
    for (const { source, kind } of claimed) {
      const users = claimUsers.get(source) ?? { kind, ctx, services: new Set<string>() };
      users.services.add(name);
      claimUsers.set(source, users);
    }
  }
  // A claim belongs to a service only when that service alone mounts it; shared volumes belong to the app.
  const claims = [...claimUsers.entries()].map(([source, { kind, ctx, services: users }]) => {
    const owner = kind === 'named' && users.size === 1 ? [...users][0] : undefined;
    return hashed(claimObject(spec.name, source, kind, spec.volumes[source], ctx, owner), owner);
  });
  const level = podSecurityLevel(Object.values(spec.services));
  return { namespace: hashed(namespaceObject(spec.name, spec.labels, level), undefined), claims, services, warnings };
}

/** A run-once job: never restarted in place (each retry is a new pod, counted by backoffLimit). */
export function renderJob(spec: JobSpec, namespace: string, nativeName: string): { object: KubeObject; warnings: DriverWarning[] } {
  const warnings: DriverWarning[] = [];
  const { volumes, mounts } = podVolumes(spec.volumes, false);
  const labels = { ...spec.labels, [LABEL.managedBy]: MANAGER, [LABEL.job]: spec.name, ...(spec.app ? { [LABEL.app]: spec.app } : {}) };
  // Constraints only: a job's pods carry no service labels for a per-node anti-affinity to select.
  const place = placement(namespace, spec.name, { placement: { constraints: spec.placement?.constraints ?? [] } }, 'job', warnings);
  if (spec.placement?.maxReplicasPerNode !== undefined)
    warnings.push({ path: 'job.placement.maxReplicasPerNode', message: 'a Kubernetes job cannot cap its replicas per node; ignored' });
  const job: V1Job & KubeObject = {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: nativeName, namespace, labels, annotations: { [LABEL.spec]: canonicalJson(spec) } },
    spec: {
      parallelism: spec.parallelism,
      completions: spec.completions,
      backoffLimit: spec.backoffLimit,
      ...(spec.timeout !== undefined ? { activeDeadlineSeconds: Math.max(1, seconds(spec.timeout)) } : {}),
      template: {
        metadata: { labels },
        spec: {
          restartPolicy: 'Never',
          containers: [container(JOB_CONTAINER, spec, mounts, 'job', warnings)],
          ...(volumes.length ? { volumes } : {}),
          ...(place.nodeSelector ? { nodeSelector: place.nodeSelector } : {}),
        },
      },
    },
  };
  return { object: job, warnings };
}

/** Claims a job's named volumes need (shared ones must already exist: they carry a class). */
export function jobClaims(spec: JobSpec, namespace: string): KubeObject[] {
  const ctx: RenderContext = { appLabels: {}, volumes: {} };
  return spec.volumes.filter((v) => v.type === 'named').map((v) => claimObject(namespace, v.source, 'named', undefined, ctx));
}
