import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type KubernetesObject,
  type V1EndpointSlice,
  type V1Namespace,
  type V1PersistentVolumeClaim,
  type V1Pod,
  type V1ReplicaSet,
  type V1Service,
} from '@kubernetes/client-node';
import { podSecurityLevel, type AppSpec, type JobSpec, type PodSecurityLevel, type ServiceSpec } from '@berth/model';
import {
  DriverError,
  DriverErrorCode,
  LABEL,
  MANAGER,
  backoff,
  fieldChanges,
  isDriverError,
  type AppSummary,
  type ApplyResult,
  type ClusterEvent,
  type ClusterHealth,
  type ClusterInfo,
  type EventOptions,
  type FollowOptions,
  type JobRef,
  type JobStatus,
  type LogLine,
  type LogOptions,
  type OrchestratorDriver,
  type Plan,
  type PlannedObject,
  type RemoveOptions,
  type SecretValue,
  type RolloutStatus,
  type ServiceRef,
  type ServiceStatus,
  type StatsSample,
  type VolumeCreate,
  type VolumeInfo,
  READ_MODEL_OFF,
  ReadGate,
  observed,
  type Observation,
  type ReadModelStatus,
  type ReadOptions,
} from '@berth/driver';
import { KubernetesClient, plain, type KubernetesConnection } from './kubernetes.client.js';
import { toDriverError } from './kubernetes-errors.js';
import { watchEvents } from './kubernetes-events.js';
import { readLogs } from './kubernetes-logs.js';
import { KubernetesReadModel, groupByService, noObjects, type SnapshotSource } from './kubernetes-read-model.js';
import { type LiveWorkload, RolloutFailureController, appliedSpec, startsRollout } from './kubernetes-rollout.controller.js';
import {
  JOBS_NAMESPACE,
  JOB_CONTAINER,
  claimObject,
  jobClaims,
  namespaceObject,
  POD_SECURITY_ENFORCE,
  podSecurityLabels,
  renderApp,
  renderJob,
  renderService,
  reservedNamespace,
  secretObject,
  secretObjectName,
  workloadKind,
  type KubeObject,
  type RenderedObject,
  type RolloutRecord,
  type ServiceRender,
  type WorkloadKind,
  type WorkloadState,
} from './kubernetes-objects.mapper.js';
import {
  assessRollout,
  iso,
  jobStatus,
  nodeInfo,
  parseQuantity,
  readContext,
  readSpec,
  readState,
  replicaSetsNeeded,
  serviceStatus,
  volumeInfo,
  type ServiceSnapshot,
} from './kubernetes-status.mapper.js';

const API_VERSION: Record<WorkloadKind, string> = { Deployment: 'apps/v1', StatefulSet: 'apps/v1', DaemonSet: 'apps/v1' };
const MANAGED = `${LABEL.managedBy}=${MANAGER}`;
const SECRETS = `${MANAGED},${LABEL.secret}`;
/** How long a write waits for a new namespace's default ServiceAccount before going ahead anyway. */
const SERVICE_ACCOUNT_WAIT_MS = 10_000;
/** First wait between reads of that ServiceAccount (the controller-manager usually makes it within milliseconds). */
const SERVICE_ACCOUNT_POLL_MS = 10;
/** How long health() waits for the API server before calling it unreachable. */
const HEALTH_TIMEOUT_MS = 10_000;
/** How long removeVolume waits for Kubernetes to finish deleting an unused claim. */
const VOLUME_REMOVAL_WAIT_MS = 10_000;

/** Berth's workloads (and their pods, Services, ReplicaSets) of one service, or of every service. */
const serviceSelector = (service: string | undefined) => `${MANAGED},${LABEL.service}${service ? `=${service}` : ''}`;
/** String.localeCompare's order, without building a collator per comparison. */
const collator = new Intl.Collator();
const inNamespace = (namespace: string | undefined) => (namespace ? ` in namespace ${namespace}` : '');

export interface KubernetesDriverOptions {
  /**
   * Keep a watch-fed read model of the cluster, so that reads asking for `consistency: 'cached'`
   * are answered from memory (default off). `resyncMs`: how often everything is listed again
   * (default 60 s); `writeWindowMs`: how long after a write its app's reads still go to the API.
   */
  readModel?: boolean | { resyncMs?: number; writeWindowMs?: number };
}

/** An object without what the server alone writes, so a diff shows only what an apply changes. */
function comparable(obj: unknown): unknown {
  const o = plain(obj) as { apiVersion?: unknown; kind?: unknown; metadata?: Record<string, unknown>; status?: unknown };
  if (o.metadata) {
    for (const key of ['managedFields', 'resourceVersion', 'generation', 'creationTimestamp', 'uid']) delete o.metadata[key];
  }
  // List items carry no apiVersion/kind, and neither can change for an existing object.
  delete o.apiVersion;
  delete o.kind;
  delete o.status;
  return o;
}

function annotation(obj: KubernetesObject | undefined, key: string): string | undefined {
  return obj?.metadata?.annotations?.[key];
}

function terminatingNamespace(ns: V1Namespace | undefined): boolean {
  return Boolean(ns?.metadata?.deletionTimestamp) || ns?.status?.phase === 'Terminating';
}

/** One write (or delete) of an apply, in order, with what the plan said about it. */
interface Step {
  planned: PlannedObject;
  rendered?: RenderedObject;
  live?: KubernetesObject;
}

type Settled<T extends readonly unknown[]> = { -readonly [K in keyof T]: Awaited<T[K]> };

/**
 * Awaits every promise, then answers their values, or throws the failure of the first one (in the
 * order given) that failed: calls made at once fail as the same calls made one after another would,
 * and none is left running when this returns.
 */
async function inOrder<T extends readonly unknown[]>(promises: T): Promise<Settled<T>> {
  const results = await Promise.allSettled(promises);
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
  return results.map((r) => (r as PromiseFulfilledResult<unknown>).value) as Settled<T>;
}

/** A call started ahead of when its answer is needed: its failure counts when it is awaited, not before. */
function background<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}

function shortId(): string {
  // 5 base-36 characters, as Kubernetes' own generated names.
  return Array.from(randomBytes(5), (b) => (b % 36).toString(36)).join('');
}

/**
 * Berth on Kubernetes: an app is a namespace; each service a Deployment, StatefulSet or DaemonSet
 * with a Service; everything written by server-side apply as field manager "berth", with the
 * Berth spec in annotations so that state can be read back after a restart.
 */
export class KubernetesDriver implements OrchestratorDriver {
  readonly kind = 'kubernetes' as const;
  private readonly client: KubernetesClient;

  private readonly rollouts: RolloutFailureController;
  /** When a read may be answered from the read model; stamps every answer. */
  private readonly gate: ReadGate;
  private readonly store?: KubernetesReadModel;

  constructor(conn: KubernetesConnection, options: KubernetesDriverOptions = {}) {
    this.client = new KubernetesClient(conn);
    // Following a rollout is part of the write path: it reads the API directly.
    this.rollouts = new RolloutFailureController(this.client, (ref) => this.snapshot(ref, false));
    const readModel = typeof options.readModel === 'object' ? options.readModel : {};
    this.gate = new ReadGate({ writeWindowMs: readModel.writeWindowMs });
    if (options.readModel) {
      this.store = new KubernetesReadModel(this.client, this.gate, { resyncMs: readModel.resyncMs });
      this.store.start();
    }
  }

  // ------------------------------------------------------------------ cluster

  async info(): Promise<ClusterInfo> {
    const [version, nodes] = await Promise.all([
      this.client.call('reading the Kubernetes version', () => this.client.version.getCode()),
      this.client.call('listing nodes', () => this.client.core.listNode()),
    ]);
    return { kind: 'kubernetes', version: version.gitVersion, apiVersion: `${version.major}.${version.minor}`, nodes: nodes.items.map(nodeInfo) };
  }

  async health(): Promise<ClusterHealth> {
    const started = performance.now();
    // An API server that accepts connections but never answers must not hang the health check.
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new DriverError(DriverErrorCode.Unreachable, `the Kubernetes API server did not answer within ${HEALTH_TIMEOUT_MS / 1000}s`)),
        HEALTH_TIMEOUT_MS,
      );
    });
    try {
      await Promise.race([this.client.call('reading the Kubernetes version', () => this.client.version.getCode()), timeout]);
      const latencyMs = Math.round(performance.now() - started);
      const nodes = await Promise.race([this.client.call('listing nodes', () => this.client.core.listNode()), timeout]).catch((e: unknown) => {
        // Credentials limited to namespaces may not list nodes; the API itself answered, so it is healthy.
        if (isDriverError(e, DriverErrorCode.Unauthorized)) return undefined;
        throw e;
      });
      if (!nodes) return { status: 'healthy', latencyMs, message: 'the API answers; these credentials cannot list nodes' };
      const ready = nodes.items.map(nodeInfo).filter((n) => n.status === 'ready').length;
      if (ready === 0) return { status: 'degraded', message: `none of the ${nodes.items.length} nodes is ready`, latencyMs };
      return { status: 'healthy', latencyMs };
    } catch (e) {
      return { status: 'unreachable', message: toDriverError(e, 'health check').message };
    } finally {
      clearTimeout(timer);
    }
  }

  // ---------------------------------------------------------------- reading

  private async listWorkloads(labelSelector: string, namespace?: string): Promise<LiveWorkload[]> {
    const where = namespace ? ` in namespace ${namespace}` : '';
    const { apps } = this.client;
    const [d, s, ds] = await Promise.all([
      this.client.call(`listing Deployments${where}`, () =>
        namespace ? apps.listNamespacedDeployment({ namespace, labelSelector }) : apps.listDeploymentForAllNamespaces({ labelSelector }),
      ),
      this.client.call(`listing StatefulSets${where}`, () =>
        namespace ? apps.listNamespacedStatefulSet({ namespace, labelSelector }) : apps.listStatefulSetForAllNamespaces({ labelSelector }),
      ),
      this.client.call(`listing DaemonSets${where}`, () =>
        namespace ? apps.listNamespacedDaemonSet({ namespace, labelSelector }) : apps.listDaemonSetForAllNamespaces({ labelSelector }),
      ),
    ]);
    return [
      ...d.items.map((workload) => ({ kind: 'Deployment' as const, workload })),
      ...s.items.map((workload) => ({ kind: 'StatefulSet' as const, workload })),
      ...ds.items.map((workload) => ({ kind: 'DaemonSet' as const, workload })),
    ];
  }

  private listPods(labelSelector: string, namespace?: string): Promise<V1Pod[]> {
    return this.client
      .call(`listing pods${namespace ? ` in namespace ${namespace}` : ''}`, () =>
        namespace ? this.client.core.listNamespacedPod({ namespace, labelSelector }) : this.client.core.listPodForAllNamespaces({ labelSelector }),
      )
      .then((l) => l.items);
  }

  /** The direct path's source for the service join: one API list per kind, grouped by service. */
  private readonly api: SnapshotSource = {
    workloads: (namespace, service) => this.listWorkloads(serviceSelector(service), namespace),
    pods: async (namespace, service) => groupByService(await this.listPods(serviceSelector(service), namespace)),
    services: async (namespace, service) => {
      const { core } = this.client;
      const labelSelector = serviceSelector(service);
      const list = await this.client.call(`listing Services${inNamespace(namespace)}`, () =>
        namespace ? core.listNamespacedService({ namespace, labelSelector }) : core.listServiceForAllNamespaces({ labelSelector }),
      );
      return groupByService(list.items);
    },
    slices: async (namespace, service) => {
      const { discovery } = this.client;
      const list = await this.client.call(`listing EndpointSlices${inNamespace(namespace)}`, () =>
        namespace
          ? discovery.listNamespacedEndpointSlice({ namespace, labelSelector: `${LABEL.service}${service ? `=${service}` : ''}` })
          : discovery.listEndpointSliceForAllNamespaces({ labelSelector: `${LABEL.service}` }),
      );
      return groupByService(list.items);
    },
    replicaSets: async (namespace, service, needing) => {
      const { apps } = this.client;
      const labelSelector = needing.every(Boolean) ? `${MANAGED},${LABEL.service} in (${needing.join(',')})` : serviceSelector(service);
      const list = await this.client.call(`listing ReplicaSets${inNamespace(namespace)}`, () =>
        namespace ? apps.listNamespacedReplicaSet({ namespace, labelSelector }) : apps.listReplicaSetForAllNamespaces({ labelSelector }),
      );
      return groupByService(list.items);
    },
  };

  /**
   * Everything the status of services depends on, read with one list per kind (all of an app's
   * services, or one), from the API or from the read model, then joined by the berth.io labels.
   * ReplicaSets (as large as the Deployments) are read afterwards, and only for the Deployments
   * whose status needs them: those mid-rollout.
   */
  private async snapshots(
    namespace: string | undefined,
    service: string | undefined,
    withDiscovery: boolean,
    source: SnapshotSource = this.api,
  ): Promise<ServiceSnapshot[]> {
    const [workloads, pods, services, slices] = await Promise.all([
      source.workloads(namespace, service),
      source.pods(namespace, service),
      withDiscovery ? source.services(namespace, service) : noObjects<V1Service>(),
      withDiscovery ? source.slices(namespace, service) : noObjects<V1EndpointSlice>(),
    ]);
    const joined = workloads.map(({ kind, workload }) => {
      const ns = workload.metadata?.namespace ?? '';
      const name = workload.metadata?.labels?.[LABEL.service] ?? '';
      const snap = { kind, workload, pods: pods(ns, name) };
      return { snap, ns, name, needsReplicaSets: replicaSetsNeeded(snap) };
    });
    const needing = [...new Set(joined.filter((j) => j.needsReplicaSets).map((j) => j.name))].sort();
    const replicaSets = needing.length ? await source.replicaSets(namespace, service, needing) : noObjects<V1ReplicaSet>();
    return joined.map(({ snap, ns, name, needsReplicaSets }) => ({
      ...snap,
      // a Deployment that does not need them goes without (see replicaSetsNeeded); other kinds have none
      ...(needsReplicaSets ? { replicaSets: replicaSets(ns, name) } : snap.kind === 'Deployment' ? {} : { replicaSets: [] }),
      services: services(ns, name),
      slices: slices(ns, name),
    }));
  }

  private async snapshot(ref: ServiceRef, withDiscovery: boolean, source: SnapshotSource = this.api): Promise<ServiceSnapshot> {
    const [snap] = await this.snapshots(ref.app, ref.service, withDiscovery, source);
    if (!snap) throw DriverError.notFound(`service "${ref.service}" of app "${ref.app}"`);
    return snap;
  }

  /** The read model, when this read of `app` may be answered from it (see ReadGate.serves). */
  private cache(app: string | undefined, options: ReadOptions | undefined): KubernetesReadModel | undefined {
    return this.store && this.gate.serves(app, options) ? this.store : undefined;
  }

  async listApps(options?: ReadOptions): Promise<AppSummary[]> {
    const cache = this.cache(undefined, options);
    if (cache) return cache.apps();
    const [namespaces, workloads] = await Promise.all([
      this.client.call('listing namespaces', () => this.client.core.listNamespace({ labelSelector: `${MANAGED},${LABEL.app}` })),
      this.listWorkloads(`${MANAGED},${LABEL.service}`),
    ]);
    const byNamespace = new Map<string, string[]>();
    for (const { workload } of workloads) {
      const ns = workload.metadata?.namespace ?? '';
      const services = byNamespace.get(ns) ?? [];
      services.push(workload.metadata?.labels?.[LABEL.service] ?? '');
      byNamespace.set(ns, services);
    }
    return namespaces.items
      .map((ns) => ns.metadata?.name ?? '')
      .filter((name) => name !== '')
      .sort()
      .map((name) => ({ name, services: (byNamespace.get(name) ?? []).sort() }));
  }

  /** What an answer says of its data: held and complete up to `cachedAt`, or (undefined) read now from the API server. */
  private observation(cachedAt: number | undefined): Observation {
    return cachedAt === undefined ? this.gate.observation('orchestrator') : this.gate.observation('cache', cachedAt);
  }

  async listServices(app?: string, options?: ReadOptions): Promise<ServiceStatus[]> {
    const cache = this.cache(app, options);
    const snaps = await this.snapshots(app, undefined, true, cache?.source);
    const services = snaps.map((s) => serviceStatus(s, assessRollout(s))).sort((a, b) => collator.compare(`${a.app}/${a.service}`, `${b.app}/${b.service}`));
    return observed(services, this.observation(cache?.servicesCompleteAt()));
  }

  async getService(ref: ServiceRef, options?: ReadOptions): Promise<ServiceStatus> {
    const cache = this.cache(ref.app, options);
    const snap = await this.snapshot(ref, true, cache?.source);
    const [service] = observed([serviceStatus(snap, assessRollout(snap))], this.observation(cache?.servicesCompleteAt()));
    return service!;
  }

  // ------------------------------------------------------------ plan / apply

  /** Refuses a namespace Berth must not use: being deleted, or someone else's. */
  private checkNamespace(ns: V1Namespace | undefined, name: string): void {
    if (!ns) return;
    if (terminatingNamespace(ns)) {
      throw new DriverError(DriverErrorCode.Conflict, `namespace "${name}" is still being deleted (a previous remove); retry when it is gone`);
    }
    if (ns.metadata?.labels?.[LABEL.managedBy] !== MANAGER) {
      throw new DriverError(DriverErrorCode.Conflict, `namespace "${name}" exists and is not managed by Berth; choose another app name or label it ${MANAGED}`);
    }
  }

  private readNamespace(name: string): Promise<V1Namespace | undefined> {
    return this.client.optional(`reading namespace ${name}`, () => this.client.core.readNamespace({ name }));
  }

  /**
   * Creates the namespace of an app (or the jobs namespace) when missing, at Pod Security level
   * `level`; an existing one is raised to "privileged" when a job needs it (an apply of the app sets
   * its own level again).
   */
  private async ensureNamespace(name: string, level: PodSecurityLevel = 'baseline'): Promise<void> {
    const live = await this.readNamespace(name);
    this.checkNamespace(live, name);
    if (live) {
      if (level === 'privileged' && live.metadata?.labels?.[POD_SECURITY_ENFORCE] !== 'privileged')
        await this.client.apply(namespaceObject(name, live.metadata?.labels, level));
      return;
    }
    const ns =
      name === JOBS_NAMESPACE
        ? { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { [LABEL.managedBy]: MANAGER, ...podSecurityLabels(level) } } }
        : namespaceObject(name, {}, level);
    await this.client.apply(ns);
    await this.waitForServiceAccount(name);
  }

  /**
   * Pods cannot be created in a namespace until the controller-manager has given it its "default"
   * ServiceAccount. Controllers retry, but with a growing back-off that can eat a short progress
   * deadline; waiting here (briefly, usually milliseconds) keeps a first rollout's clock honest.
   */
  private async waitForServiceAccount(namespace: string): Promise<void> {
    const deadline = Date.now() + SERVICE_ACCOUNT_WAIT_MS;
    const waits = backoff(SERVICE_ACCOUNT_POLL_MS, 100);
    while (Date.now() < deadline) {
      const sa = await this.client.optional(`reading ServiceAccount default in namespace ${namespace}`, () =>
        this.client.core.readNamespacedServiceAccount({ name: 'default', namespace }),
      );
      if (sa) return;
      await sleep(waits.next());
    }
  }

  /**
   * Renders the app, reads what runs, and lists the writes an apply would make. A workload whose
   * pod template changes starts a rollout: it records the spec it replaces (berth.io/previous-spec),
   * so a failed rollout can return to it even after a gateway restart.
   */
  private async prepare(spec: AppSpec): Promise<{ plan: Plan; steps: Step[]; rolling: string[] }> {
    const first = renderApp(spec);
    const ns = spec.name;
    const liveNs = await this.readNamespace(ns);
    this.checkNamespace(liveNs, ns);
    const where = ` in namespace ${ns}`;
    const [workloads, services, claims] = liveNs
      ? await Promise.all([
          this.listWorkloads(MANAGED, ns),
          this.client.call(`listing Services${where}`, () => this.client.core.listNamespacedService({ namespace: ns })).then((l) => l.items),
          this.client.call(`listing claims${where}`, () => this.client.core.listNamespacedPersistentVolumeClaim({ namespace: ns })).then((l) => l.items),
        ])
      : [[], [] as V1Service[], [] as V1PersistentVolumeClaim[]];
    const liveWorkloads = new Map(workloads.map((w) => [w.workload.metadata?.labels?.[LABEL.service] ?? w.workload.metadata?.name ?? '', w]));

    const now = new Date().toISOString();
    const startRollout = (previous: ServiceSpec | undefined): WorkloadState => ({
      ...(previous ? { previousSpec: previous } : {}),
      rollout: { reason: 'apply', startedAt: now },
    });
    const states = new Map<string, WorkloadState>();
    const rolling: string[] = [];
    for (const [name, render] of first.services) {
      const live = liveWorkloads.get(name);
      if (!live) {
        rolling.push(name);
        states.set(name, startRollout(undefined));
        continue;
      }
      if (annotation(live.workload, LABEL.specHash) === render.workload.hash) continue;
      if (startsRollout(ns, name, live, render.workload.object)) {
        rolling.push(name);
        states.set(name, startRollout(readSpec(live.workload)));
      } else {
        states.set(name, readState(live.workload));
      }
    }
    const render = renderApp(spec, states);

    const liveOf = (o: KubeObject): KubernetesObject | undefined => {
      switch (o.kind) {
        case 'Namespace':
          return liveNs;
        case 'PersistentVolumeClaim':
          return claims.find((c) => c.metadata?.name === o.metadata.name);
        case 'Service':
          return services.find((s) => s.metadata?.name === o.metadata.name);
        default: {
          const w = [...liveWorkloads.values()].find((l) => l.kind === o.kind && l.workload.metadata?.name === o.metadata.name);
          return w?.workload;
        }
      }
    };
    const steps: Step[] = [];
    const add = (rendered: RenderedObject) => {
      const live = liveOf(rendered.object);
      const action = !live ? 'create' : annotation(live, LABEL.specHash) === rendered.hash ? 'unchanged' : 'update';
      steps.push({
        rendered,
        ...(live ? { live } : {}),
        planned: {
          action,
          kind: rendered.object.kind,
          name: rendered.object.metadata.name,
          ...(rendered.service ? { service: rendered.service } : {}),
          changes: action === 'create' ? fieldChanges(undefined, rendered.object) : [],
          ...(action !== 'unchanged' ? { object: rendered.object } : {}),
        },
      });
    };
    // Deletions first: a service that changes kind must lose its old workload before the new one starts.
    const renderedServices = new Set(
      [...render.services.values()].flatMap((r) => r.objects.filter((o) => o.object.kind === 'Service').map((o) => o.object.metadata.name)),
    );
    for (const { kind, workload } of workloads) {
      const name = workload.metadata?.name ?? '';
      const service = workload.metadata?.labels?.[LABEL.service];
      const wanted = service ? render.services.get(service) : undefined;
      if (wanted?.workload.object.kind === kind) continue;
      steps.push({
        live: { ...workload, apiVersion: API_VERSION[kind], kind },
        planned: { action: 'delete', kind, name, ...(service ? { service } : {}), changes: [] },
      });
    }
    for (const svc of services.filter((s) => s.metadata?.labels?.[LABEL.managedBy] === MANAGER && !renderedServices.has(s.metadata?.name ?? ''))) {
      const service = svc.metadata?.labels?.[LABEL.service];
      steps.push({
        live: { ...svc, apiVersion: 'v1', kind: 'Service' },
        planned: { action: 'delete', kind: 'Service', name: svc.metadata?.name ?? '', ...(service ? { service } : {}), changes: [] },
      });
    }
    add(render.namespace);
    render.claims.forEach(add);
    for (const r of render.services.values()) r.objects.forEach(add);

    const plan: Plan = {
      app: ns,
      changed: steps.some((s) => s.planned.action !== 'unchanged'),
      objects: steps.map((s) => s.planned),
      warnings: render.warnings,
    };
    return { plan, steps, rolling };
  }

  async plan(spec: AppSpec): Promise<Plan> {
    const { plan, steps } = await this.prepare(spec);
    // A server-side dry run shows the object as it would be stored (defaults included), so the diff
    // names only real changes.
    await Promise.all(
      steps
        .filter((s) => s.planned.action === 'update' && s.rendered && s.live)
        .map(async (s) => {
          const dry = await this.client.apply(s.rendered!.object, { dryRun: true });
          s.planned.changes = fieldChanges(comparable(s.live), comparable(dry));
        }),
    );
    return plan;
  }

  /**
   * Writes an app in four waves, each wave's writes at once: deletions (a service that changes kind
   * loses its old workload before the new one starts); the namespace; claims and Services, while a
   * new namespace gets its ServiceAccount; then the workloads, which start pods. A failed write
   * fails the apply once its wave has ended; later waves are not written.
   */
  apply(spec: AppSpec): Promise<ApplyResult> {
    return this.gate.write(spec.name, () => this.writeApp(spec));
  }

  private async writeApp(spec: AppSpec): Promise<ApplyResult> {
    // the Secrets are checked while the plan is made (a missing one refuses only a write)
    const secrets = background(this.requireSecrets(spec.name, Object.values(spec.services)));
    const { plan, steps, rolling } = await this.prepare(spec);
    if (!plan.changed) return { ...plan, rollingServices: [] };
    await secrets;
    const write = async ({ planned, rendered, live }: Step): Promise<void> => {
      if (planned.action === 'delete' && live) {
        await this.client.remove({ apiVersion: live.apiVersion ?? 'v1', kind: planned.kind, metadata: { name: planned.name, namespace: plan.app } });
      } else if (rendered && planned.action !== 'unchanged') {
        const written = await this.client.apply(rendered.object);
        if (planned.action === 'update') planned.changes = fieldChanges(comparable(live), comparable(written));
      }
    };
    const wave = (steps: Step[], alongside: Promise<unknown>[] = []) => inOrder([...steps.map(write), ...alongside]);
    const isWorkload = (s: Step) => s.planned.kind in API_VERSION;
    const writes = steps.filter((s) => s.planned.action !== 'delete');
    const namespace = writes.filter((s) => s.planned.kind === 'Namespace');
    await wave(steps.filter((s) => s.planned.action === 'delete'));
    await wave(namespace);
    const newNamespace = namespace.some((s) => s.planned.action === 'create');
    await wave(
      writes.filter((s) => s.planned.kind !== 'Namespace' && !isWorkload(s)),
      newNamespace ? [this.waitForServiceAccount(plan.app)] : [],
    );
    await wave(writes.filter(isWorkload));
    return { ...plan, rollingServices: rolling };
  }

  /** A pod whose Secret is missing never starts: refuse the write instead, as the Swarm engine does. */
  private async requireSecrets(app: string, services: ServiceSpec[]): Promise<void> {
    const wanted = new Set(services.flatMap((svc) => svc.secrets.map((s) => secretObjectName(s.source, s.version ?? ''))));
    if (!wanted.size) return;
    const have = await this.secretNames(app);
    const missing = [...wanted].filter((n) => !have.has(n));
    if (missing.length) {
      throw new DriverError(
        DriverErrorCode.Invalid,
        `secret(s) ${missing.join(', ')} do not exist in namespace ${app}: they are written by ensureSecrets before a service uses them`,
      );
    }
  }

  /** Names of the Secrets Berth wrote in the app's namespace (none when the namespace does not exist). */
  private async secretNames(app: string): Promise<Set<string | undefined>> {
    const list = await this.client.optional(`listing Secrets in namespace ${app}`, () =>
      this.client.core.listNamespacedSecret({ namespace: app, labelSelector: SECRETS }),
    );
    return new Set(list?.items.map((s) => s.metadata?.name));
  }

  ensureSecrets(app: string, secrets: SecretValue[]): Promise<void> {
    return this.gate.write(app, async () => {
      if (!secrets.length) return;
      await this.ensureNamespace(app);
      const names = await this.secretNames(app);
      for (const secret of secrets) {
        const object = secretObject(app, secret);
        // immutable: an existing version already holds this value
        if (!names.has(object.metadata.name)) await this.client.apply(object);
      }
    });
  }

  remove(app: string, options: RemoveOptions = {}): Promise<{ removed: string[] }> {
    return this.gate.write(app, async () => {
      const ns = await this.readNamespace(app);
      if (!ns) return { removed: [] };
      const where = ` in namespace ${app}`;
      const [workloads, services, jobs, claims, secrets] = await Promise.all([
        this.listWorkloads(MANAGED, app),
        this.client.call(`listing Services${where}`, () => this.client.core.listNamespacedService({ namespace: app, labelSelector: MANAGED })),
        this.client.call(`listing Jobs${where}`, () => this.client.batch.listNamespacedJob({ namespace: app, labelSelector: MANAGED })),
        this.client.call(`listing claims${where}`, () => this.client.core.listNamespacedPersistentVolumeClaim({ namespace: app })),
        this.client.call(`listing Secrets${where}`, () => this.client.core.listNamespacedSecret({ namespace: app, labelSelector: SECRETS })),
      ]);
      const targets: Array<{ apiVersion: string; kind: string; name: string }> = [
        ...workloads.map((w) => ({ apiVersion: API_VERSION[w.kind], kind: w.kind, name: w.workload.metadata?.name ?? '' })),
        ...services.items.map((s) => ({ apiVersion: 'v1', kind: 'Service', name: s.metadata?.name ?? '' })),
        ...jobs.items.map((j) => ({ apiVersion: 'batch/v1', kind: 'Job', name: j.metadata?.name ?? '' })),
        ...secrets.items.map((s) => ({ apiVersion: 'v1', kind: 'Secret', name: s.metadata?.name ?? '' })),
      ];
      // Shared volumes outlive the app (other apps or a later deploy may use them); only named ones go, and only when asked.
      const removable = (c: V1PersistentVolumeClaim) => c.metadata?.labels?.[LABEL.managedBy] === MANAGER && c.metadata.labels[LABEL.volumeKind] !== 'shared';
      const claimsGoing = options.volumes ? claims.items.filter(removable) : [];
      targets.push(...claimsGoing.map((c) => ({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', name: c.metadata?.name ?? '' })));
      const removed: string[] = [];
      for (const t of targets) {
        if (await this.client.remove({ apiVersion: t.apiVersion, kind: t.kind, metadata: { name: t.name, namespace: app } }))
          removed.push(`${t.kind}/${t.name}`);
      }
      // The namespace goes with the app only when no claim must stay in it (and only if Berth made it).
      const staying = claims.items.length - claimsGoing.length;
      if (staying === 0 && ns.metadata?.labels?.[LABEL.managedBy] === MANAGER && !terminatingNamespace(ns)) {
        if (await this.client.remove({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: app } })) removed.push(`Namespace/${app}`);
      }
      return { removed };
    });
  }

  // --------------------------------------------------------- service changes

  private async requireWorkload(ref: ServiceRef): Promise<LiveWorkload> {
    const [found] = await this.listWorkloads(`${MANAGED},${LABEL.service}=${ref.service}`, ref.app);
    if (!found) throw DriverError.notFound(`service "${ref.service}" of app "${ref.app}"`);
    return found;
  }

  scale(ref: ServiceRef, replicas: number): Promise<void> {
    return this.gate.write(ref.app, async () => {
      if (!Number.isInteger(replicas) || replicas < 0) {
        throw new DriverError(DriverErrorCode.Invalid, `replicas must be a whole number >= 0, got ${replicas}`, [
          { path: 'replicas', message: 'expected a whole number >= 0' },
        ]);
      }
      const { kind, workload } = await this.requireWorkload(ref);
      if (kind === 'DaemonSet') {
        throw new DriverError(
          DriverErrorCode.Invalid,
          `service "${ref.service}" is global (one replica per node) and cannot be scaled; change its mode to "replicated" first`,
        );
      }
      const spec = appliedSpec(ref, workload);
      // Scaling rewrites the applied spec with the new count, so a later apply of the old spec is a change again.
      const render = renderService(ref.app, ref.service, { ...spec, replicas }, readContext(workload), readState(workload));
      if (annotation(workload, LABEL.specHash) === render.workload.hash && workload.spec && 'replicas' in workload.spec && workload.spec.replicas === replicas)
        return;
      await this.client.apply(render.workload.object);
      // A stateful service has one Service per member: scaling adds or removes those at the end.
      if (kind === 'StatefulSet') await this.writeServiceObjects(ref, render);
    });
  }

  /**
   * Writes one service's new spec. `reason` says which policy rolls it: the update policy, or the
   * spec's rollback policy for a rollback. The replaced spec is kept for an automatic rollback.
   */
  private async writeService(ref: ServiceRef, spec: ServiceSpec, reason: RolloutRecord['reason']): Promise<{ changed: boolean }> {
    const where = ` in namespace ${ref.app}`;
    // Everything the write needs is read at once, and looked at in the order the checks go.
    const secrets = background(this.requireSecrets(ref.app, [spec]));
    const claimList = background(
      this.client.call(`listing claims${where}`, () => this.client.core.listNamespacedPersistentVolumeClaim({ namespace: ref.app })),
    );
    const serviceList = background(this.serviceObjectsOf(ref));
    const live = await this.requireWorkload(ref);
    const ctx = readContext(live.workload);
    const newKind = workloadKind(spec);
    const probe = renderService(ref.app, ref.service, spec, ctx);
    if (live.kind === newKind && annotation(live.workload, LABEL.specHash) === probe.workload.hash) return { changed: false };
    const liveSpec = readSpec(live.workload);
    const rolls = startsRollout(ref.app, ref.service, live, probe.workload.object);
    const state: WorkloadState = rolls
      ? { ...(liveSpec ? { previousSpec: liveSpec } : {}), rollout: { reason, startedAt: new Date().toISOString() } }
      : readState(live.workload);
    const render = renderService(ref.app, ref.service, spec, ctx, state);

    await secrets;
    const [claims, services] = await inOrder([claimList, serviceList] as const);
    const claimNames = spec.volumes.filter((v) => v.type === 'shared').map((v) => v.source);
    const existing = new Set(claims.items.map((c) => c.metadata?.name));
    const missingShared = claimNames.filter((n) => !existing.has(n));
    if (missingShared.length) {
      throw new DriverError(
        DriverErrorCode.Invalid,
        `shared volume(s) ${missingShared.map((n) => `"${n}"`).join(', ')} do not exist in app "${ref.app}"; declare them under the app's volumes and apply the app, or create them first`,
        missingShared.map((n) => ({ path: 'volumes', message: `shared volume "${n}" does not exist` })),
      );
    }
    // Claims are created, never rewritten here: their size and class are fixed once bound.
    await inOrder(render.claims.filter((c) => !existing.has(c.object.metadata.name)).map((claim) => this.client.apply(claim.object)));
    if (live.kind !== newKind) {
      await this.client.remove({
        apiVersion: API_VERSION[live.kind],
        kind: live.kind,
        metadata: { name: live.workload.metadata?.name ?? ref.service, namespace: ref.app },
      });
    }
    await this.writeServiceObjects(ref, render, services);
    return { changed: true };
  }

  /** The Service objects Berth wrote for one service. */
  private serviceObjectsOf(ref: ServiceRef): Promise<V1Service[]> {
    return this.client
      .call(`listing Services in namespace ${ref.app}`, () =>
        this.client.core.listNamespacedService({ namespace: ref.app, labelSelector: `${MANAGED},${LABEL.service}=${ref.service}` }),
      )
      .then((l) => l.items);
  }

  /**
   * Writes a service's Service objects and removes those it no longer renders (members past a
   * scale-down), all at once; then its workload.
   */
  private async writeServiceObjects(ref: ServiceRef, render: ServiceRender, live?: V1Service[]): Promise<void> {
    const services = live ?? (await this.serviceObjectsOf(ref));
    const keep = new Set(render.objects.map((o) => o.object.metadata.name));
    const workload = render.objects.filter((o) => o.object.kind in API_VERSION);
    await inOrder([
      ...services
        .filter((s) => !keep.has(s.metadata?.name ?? ''))
        .map((stale) => this.client.remove({ apiVersion: 'v1', kind: 'Service', metadata: { name: stale.metadata?.name ?? '', namespace: ref.app } })),
      ...render.objects.filter((o) => !workload.includes(o)).map((o) => this.client.apply(o.object)),
    ]);
    await inOrder(workload.map((o) => this.client.apply(o.object)));
  }

  updateService(ref: ServiceRef, spec: ServiceSpec): Promise<{ changed: boolean }> {
    return this.gate.write(ref.app, async () => {
      return this.writeService(ref, spec, 'update');
    });
  }

  rollbackService(ref: ServiceRef, spec: ServiceSpec): Promise<{ changed: boolean }> {
    return this.gate.write(ref.app, async () => {
      return this.writeService(ref, spec, 'rollback');
    });
  }

  async rolloutStatus(ref: ServiceRef, options?: ReadOptions): Promise<RolloutStatus> {
    return assessRollout(await this.snapshot(ref, false, this.cache(ref.app, options)?.source)).status;
  }

  followRollout(ref: ServiceRef, options: FollowOptions = {}): AsyncIterable<RolloutStatus> {
    return this.rollouts.follow(ref, options);
  }

  // -------------------------------------------------------------------- jobs

  runJob(spec: JobSpec): Promise<JobRef> {
    return this.gate.write(spec.app ?? JOBS_NAMESPACE, async () => {
      if (spec.app && reservedNamespace(spec.app)) {
        throw new DriverError(DriverErrorCode.Invalid, `app name "${spec.app}" is a reserved Kubernetes namespace`, [
          { path: 'app', message: 'reserved namespace (default, kube-*)' },
        ]);
      }
      const namespace = spec.app ?? JOBS_NAMESPACE;
      await this.ensureNamespace(namespace, podSecurityLevel([spec]));
      for (const claim of jobClaims(spec, namespace)) {
        const exists = await this.client.optional(`reading claim ${claim.metadata.name}`, () =>
          this.client.core.readNamespacedPersistentVolumeClaim({ name: claim.metadata.name, namespace }),
        );
        if (!exists) await this.client.apply(claim);
      }
      const name = `job-${spec.name}-${shortId()}`;
      await this.client.apply(renderJob(spec, namespace, name).object);
      return { app: namespace, name };
    });
  }

  async jobStatus(ref: JobRef): Promise<JobStatus> {
    const job = await this.client.call(`job "${ref.name}" of app "${ref.app}"`, () =>
      this.client.batch.readNamespacedJob({ name: ref.name, namespace: ref.app }),
    );
    const pods = await this.listPods(`job-name=${ref.name}`, ref.app);
    return jobStatus(job, pods);
  }

  removeJob(ref: JobRef): Promise<void> {
    return this.gate.write(ref.app, async () => {
      const removed = await this.client.remove({ apiVersion: 'batch/v1', kind: 'Job', metadata: { name: ref.name, namespace: ref.app } });
      if (!removed) throw DriverError.notFound(`job "${ref.name}" of app "${ref.app}"`);
    });
  }

  // ----------------------------------------------------------------- volumes

  /** Berth's claims of an app (or of every app), from the API. */
  private async claims(app: string | undefined): Promise<V1PersistentVolumeClaim[]> {
    const labelSelector = `${MANAGED},${LABEL.volume}`;
    const list = await this.client.call(`listing claims${inNamespace(app)}`, () =>
      app
        ? this.client.core.listNamespacedPersistentVolumeClaim({ namespace: app, labelSelector })
        : this.client.core.listPersistentVolumeClaimForAllNamespaces({ labelSelector }),
    );
    return list.items;
  }

  async listVolumes(app?: string, options?: ReadOptions): Promise<VolumeInfo[]> {
    const cache = this.cache(app, options);
    const claims = cache ? cache.claims(app) : await this.claims(app);
    const volumes = claims.map(volumeInfo).sort((a, b) => `${a.app}/${a.name}`.localeCompare(`${b.app}/${b.name}`, undefined, { numeric: true }));
    return observed(volumes, this.observation(cache?.volumesCompleteAt()));
  }

  createVolume(app: string, name: string, definition: VolumeCreate): Promise<VolumeInfo> {
    return this.gate.write(app, async () => {
      if (reservedNamespace(app))
        throw new DriverError(DriverErrorCode.Invalid, `app name "${app}" is a reserved Kubernetes namespace`, [
          { path: 'app', message: 'reserved namespace' },
        ]);
      await this.ensureNamespace(app);
      const existing = await this.client.optional(`reading claim ${name}`, () =>
        this.client.core.readNamespacedPersistentVolumeClaim({ name, namespace: app }),
      );
      if (existing) {
        const labels = existing.metadata?.labels ?? {};
        if (labels[LABEL.managedBy] === MANAGER && labels[LABEL.volumeKind] === definition.kind) return volumeInfo(existing);
        throw new DriverError(
          DriverErrorCode.Conflict,
          `a volume "${name}" already exists in app "${app}" (kind ${labels[LABEL.volumeKind] ?? 'not managed by Berth'}); choose another name`,
        );
      }
      const written = await this.client.apply(claimObject(app, name, definition.kind, definition, { appLabels: {}, volumes: {} }));
      return volumeInfo(written as V1PersistentVolumeClaim);
    });
  }

  /**
   * Removes a volume, refusing while a replica mounts it (as Docker does): Kubernetes would only
   * mark the claim for deletion and keep it until those pods stop. Returns once the claim is gone.
   */
  removeVolume(app: string, name: string): Promise<void> {
    return this.gate.write(app, async () => {
      const volume = (await this.claims(app)).map(volumeInfo).find((v) => v.name === name);
      if (!volume) throw DriverError.notFound(`volume "${name}" of app "${app}"`);
      const pods = await this.client.call(`listing pods in namespace ${app}`, () => this.client.core.listNamespacedPod({ namespace: app }));
      const users = pods.items.filter(
        (p) =>
          p.status?.phase !== 'Succeeded' &&
          p.status?.phase !== 'Failed' &&
          p.spec?.volumes?.some((v) => v.persistentVolumeClaim?.claimName === volume.nativeName),
      );
      if (users.length) {
        throw new DriverError(
          DriverErrorCode.Conflict,
          `volume "${name}" of app "${app}" is in use by ${users.map((p) => p.metadata?.name).join(', ')}; remove or update the services that mount it first`,
        );
      }
      await this.client.remove({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: volume.nativeName, namespace: app } });
      // The claim's protection finalizer is lifted asynchronously; wait (briefly) so a list right after no longer shows it.
      const deadline = Date.now() + VOLUME_REMOVAL_WAIT_MS;
      while (Date.now() < deadline) {
        const still = await this.client.optional(`reading claim ${volume.nativeName}`, () =>
          this.client.core.readNamespacedPersistentVolumeClaim({ name: volume.nativeName, namespace: app }),
        );
        if (!still) return;
        await sleep(100);
      }
    });
  }

  // ------------------------------------------------------------------ events

  events(options: EventOptions = {}): AsyncIterable<ClusterEvent> {
    // While the read model is live it says which app and service an event is about, without asking the API server.
    const store = this.store;
    return watchEvents(this.client, options, store && ((namespace) => (this.gate.live ? store.appOf(namespace) : undefined)));
  }

  // ------------------------------------------------------------ stats / logs

  async stats(app?: string): Promise<StatsSample[]> {
    const groups = await this.client.call('listing API groups', () => this.client.apis.getAPIVersions());
    if (!groups.groups.some((g) => g.name === 'metrics.k8s.io')) {
      throw DriverError.unsupported('this cluster serves no resource metrics: the metrics.k8s.io API is missing; install metrics-server to get stats');
    }
    const [metrics, pods] = await Promise.all([
      this.client.call('reading pod metrics (metrics.k8s.io)', () => this.client.metrics.getPodMetrics(app)),
      this.listPods(`${MANAGED},${LABEL.app}`, app),
    ]);
    const time = new Date().toISOString();
    return metrics.items.flatMap((m) => {
      const pod = pods.find((p) => p.metadata?.name === m.metadata.name && p.metadata?.namespace === m.metadata.namespace);
      if (!pod) return [];
      const labels = pod.metadata?.labels ?? {};
      const limits = pod.spec?.containers.map((c) => parseQuantity(c.resources?.limits?.memory ?? '')) ?? [];
      const memoryLimit = limits.length && limits.every(Number.isFinite) ? limits.reduce((a, b) => a + b, 0) : undefined;
      const service = labels[LABEL.service];
      const node = pod.spec?.nodeName;
      // metrics.k8s.io carries CPU and memory only; network and block I/O are not served by it.
      return [
        {
          time: iso(m.timestamp) ?? time,
          app: labels[LABEL.app] ?? m.metadata.namespace,
          ...(service ? { service } : {}),
          replica: m.metadata.name,
          ...(node ? { node } : {}),
          cpuCores: m.containers.reduce((sum, c) => sum + (parseQuantity(c.usage.cpu) || 0), 0),
          memoryBytes: m.containers.reduce((sum, c) => sum + (parseQuantity(c.usage.memory) || 0), 0),
          ...(memoryLimit !== undefined ? { memoryLimitBytes: memoryLimit } : {}),
          netRxBytes: 0,
          netTxBytes: 0,
          blockReadBytes: 0,
          blockWriteBytes: 0,
        },
      ];
    });
  }

  async *logs(target: ServiceRef | JobRef, options: LogOptions = {}): AsyncIterable<LogLine> {
    const namespace = target.app;
    // Resolve the target first, so a missing service or job is NotFound rather than an empty log.
    if ('service' in target) {
      await this.requireWorkload(target);
      const pods = () => this.listPods(`${MANAGED},${LABEL.service}=${target.service}`, namespace).then((p) => ({ pods: p, final: false }));
      yield* readLogs(this.client, namespace, pods, target.service, options);
    } else {
      const readJob = () =>
        this.client.call(`job "${target.name}" of app "${target.app}"`, () => this.client.batch.readNamespacedJob({ name: target.name, namespace }));
      await readJob();
      // The job is read before its pods: once it has ended, that pod list is the last one.
      const pods = async () => {
        const job = await readJob();
        const final = job.status?.conditions?.some((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True') ?? false;
        return { pods: await this.listPods(`job-name=${target.name}`, namespace), final };
      };
      yield* readLogs(this.client, namespace, pods, JOB_CONTAINER, options);
    }
  }

  async readModel(): Promise<ReadModelStatus> {
    return this.store ? this.gate.status(this.store.counts()) : READ_MODEL_OFF;
  }

  async close(): Promise<void> {
    await this.store?.close();
    this.client.close();
  }
}
