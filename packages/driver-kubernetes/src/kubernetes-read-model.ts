import {
  ListWatch,
  Watch,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  type V1EndpointSlice,
  type V1Namespace,
  type V1PersistentVolumeClaim,
  type V1Pod,
  type V1ReplicaSet,
  type V1Service,
} from '@kubernetes/client-node';
import { LABEL, MANAGER, type ReadGate } from '@berth/driver';
import type { AppOfNamespace } from './kubernetes-events.js';
import type { LiveWorkload } from './kubernetes-rollout.controller.js';
import type { KubernetesClient } from './kubernetes.client.js';
import { iso, type Workload } from './kubernetes-status.mapper.js';
import type { WorkloadKind } from './kubernetes-objects.mapper.js';

export const DEFAULT_RESYNC_MS = 60_000;
/** How long a feed whose list or watch failed waits before listing again (doubling up to the max). */
const RESTART_BASE_MS = 1_000;
const RESTART_MAX_MS = 30_000;

const MANAGED = `${LABEL.managedBy}=${MANAGER}`;

/** The objects of one service (or of a namespace), grouped: `(namespace, service) => objects`, in API list order. */
export type Grouped<T> = (namespace: string, service: string) => T[];

/**
 * Where the service join takes its objects from: one API list per kind, or the read model's caches.
 * Each answer is grouped by namespace and service label, so the join costs one lookup per service
 * instead of a scan of every object per service.
 */
export interface SnapshotSource {
  /** Deployments, then StatefulSets, then DaemonSets, each by namespace and name (as the API lists them). */
  workloads(namespace: string | undefined, service: string | undefined): Promise<LiveWorkload[]>;
  pods(namespace: string | undefined, service: string | undefined): Promise<Grouped<V1Pod>>;
  services(namespace: string | undefined, service: string | undefined): Promise<Grouped<V1Service>>;
  slices(namespace: string | undefined, service: string | undefined): Promise<Grouped<V1EndpointSlice>>;
  /** The ReplicaSets of the named services only (those whose status needs them). */
  replicaSets(namespace: string | undefined, service: string | undefined, services: string[]): Promise<Grouped<V1ReplicaSet>>;
}

const NONE: Grouped<never> = () => [];
export const noObjects = <T>(): Grouped<T> => NONE;

const serviceOf = (o: KubernetesObject): string => o.metadata?.labels?.[LABEL.service] ?? '';
const groupKey = (namespace: string, service: string) => `${namespace}\u0000${service}`;

/** Groups listed objects by namespace and service label, keeping their order. */
export function groupByService<T extends KubernetesObject>(items: T[]): Grouped<T> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const key = groupKey(item.metadata?.namespace ?? '', serviceOf(item));
    const group = groups.get(key);
    if (group) group.push(item);
    else groups.set(key, [item]);
  }
  return (namespace, service) => groups.get(groupKey(namespace, service)) ?? [];
}

/** The API server's list order: by namespace, then name, byte for byte (etcd key order). */
const bytes = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const listOrder = (a: KubernetesObject, b: KubernetesObject) =>
  bytes(a.metadata?.namespace ?? '', b.metadata?.namespace ?? '') || bytes(a.metadata?.name ?? '', b.metadata?.name ?? '');

/** One kind's objects by namespace, then service label, then name: a service's objects are one lookup away. */
export class ObjectIndex<T extends KubernetesObject> {
  private readonly tree = new Map<string, Map<string, Map<string, T>>>();
  /** namespace/name -> the service label it is filed under */
  private readonly filed = new Map<string, string>();

  get size(): number {
    return this.filed.size;
  }

  put(obj: T): void {
    const namespace = obj.metadata?.namespace ?? '';
    const name = obj.metadata?.name ?? '';
    const service = serviceOf(obj);
    const id = groupKey(namespace, name);
    const before = this.filed.get(id);
    if (before !== undefined && before !== service) this.remove(namespace, before, name);
    this.filed.set(id, service);
    let byService = this.tree.get(namespace);
    if (!byService) this.tree.set(namespace, (byService = new Map()));
    let byName = byService.get(service);
    if (!byName) byService.set(service, (byName = new Map()));
    byName.set(name, obj);
  }

  delete(obj: T): void {
    const namespace = obj.metadata?.namespace ?? '';
    const name = obj.metadata?.name ?? '';
    const id = groupKey(namespace, name);
    const service = this.filed.get(id);
    if (service === undefined) return;
    this.filed.delete(id);
    this.remove(namespace, service, name);
  }

  private remove(namespace: string, service: string, name: string): void {
    const byService = this.tree.get(namespace);
    const byName = byService?.get(service);
    if (!byService || !byName) return;
    byName.delete(name);
    if (byName.size) return;
    byService.delete(service);
    if (!byService.size) this.tree.delete(namespace);
  }

  get(namespace: string, name: string): T | undefined {
    const service = this.filed.get(groupKey(namespace, name));
    return service === undefined ? undefined : this.tree.get(namespace)?.get(service)?.get(name);
  }

  /** The objects of one service, in list order. */
  of(namespace: string, service: string): T[] {
    const byName = this.tree.get(namespace)?.get(service);
    return byName ? [...byName.values()].sort(listOrder) : [];
  }

  /** The objects of one service, or of every service, in one namespace or all, in list order. */
  select(namespace: string | undefined, service: string | undefined): T[] {
    if (namespace !== undefined && service !== undefined) return this.of(namespace, service);
    const out: T[] = [];
    const namespaces = namespace !== undefined ? [this.tree.get(namespace)] : [...this.tree.values()];
    for (const byService of namespaces) {
      if (!byService) continue;
      if (service !== undefined) {
        const byName = byService.get(service);
        if (byName) out.push(...byName.values());
      } else for (const byName of byService.values()) out.push(...byName.values());
    }
    return out.sort(listOrder);
  }

  /** How many objects each service label has in a namespace. */
  *services(namespace: string): Iterable<[string, number]> {
    for (const [service, byName] of this.tree.get(namespace) ?? []) yield [service, byName.size];
  }
}

type FeedKind = WorkloadKind | 'ReplicaSet' | 'Pod' | 'Service' | 'EndpointSlice' | 'Namespace' | 'PersistentVolumeClaim';
const WORKLOAD_KINDS: ReadonlySet<FeedKind> = new Set<FeedKind>(['Deployment', 'StatefulSet', 'DaemonSet']);
const KEPT_REPLICA_SET_ANNOTATIONS = ['deployment.kubernetes.io/revision'];

type Loose = {
  metadata?: { managedFields?: Array<{ time?: unknown }>; annotations?: Record<string, string> };
  spec?: Record<string, unknown>;
  status?: unknown;
};

/**
 * Drops, in place, what the status mapping never reads, so the read model holds little more than
 * what it answers from: managedFields (a workload keeps the time of its latest entry, its
 * `updatedAt`), a ReplicaSet's template, spec and status (the copy of its Deployment), and a pod's
 * spec but for its containers' names and images, its hostname and node. A mapping that starts
 * reading a field dropped here must keep it here too (the read-model integration test compares
 * cached answers with fresh ones).
 */
export function slim(kind: FeedKind, object: unknown): void {
  const o = object as Loose;
  const meta = o.metadata;
  if (meta) {
    if (WORKLOAD_KINDS.has(kind) && meta.managedFields?.length) {
      let latest: { time?: unknown } | undefined;
      let latestAt = '';
      for (const f of meta.managedFields) {
        const at = iso(f.time as string | Date | undefined);
        if (at !== undefined && at > latestAt) [latest, latestAt] = [f, at];
      }
      meta.managedFields = latest ? [{ time: latest.time }] : [];
    } else delete meta.managedFields;
    if (meta.annotations) delete meta.annotations['kubectl.kubernetes.io/last-applied-configuration'];
  }
  if (kind === 'ReplicaSet') {
    if (meta?.annotations)
      meta.annotations = Object.fromEntries(
        KEPT_REPLICA_SET_ANNOTATIONS.flatMap((k) => (meta.annotations?.[k] !== undefined ? [[k, meta.annotations[k]]] : [])),
      );
    delete o.spec;
    delete o.status;
  } else if (kind === 'Pod') {
    if (meta) delete meta.annotations;
    const spec = (o.spec ?? {}) as { containers?: Array<{ name: string; image?: string }>; hostname?: string; nodeName?: string };
    o.spec = {
      containers: (spec.containers ?? []).map((c) => ({ name: c.name, ...(c.image !== undefined ? { image: c.image } : {}) })),
      ...(spec.hostname !== undefined ? { hostname: spec.hostname } : {}),
      ...(spec.nodeName !== undefined ? { nodeName: spec.nodeName } : {}),
    };
  }
}

interface FeedEvents {
  changed(): void;
  /** Listed and connected after a start or a relist. */
  synced(kind: FeedKind): void;
  failed(kind: FeedKind, error: unknown): void;
}

/** What the read model does with every feed, whatever its kind. */
interface FeedControl {
  readonly kind: FeedKind;
  readonly index: { readonly size: number };
  start(): void;
  resync(): void;
  completeAt(now: number): number;
  stop(): Promise<void>;
}

const GONE = Object.assign(new Error('relisting'), { statusCode: 410 });

/**
 * One kind, all namespaces, one label selector: client-node's ListWatch (its list, its watch that
 * resumes from the last resourceVersion) feeding an index. The feed's own Watch sees each watch
 * connect and end, which ListWatch does not report, and turns a requested relist into the 410 Gone
 * that makes ListWatch list again while it keeps its cache (so reads go on being served meanwhile).
 */
class Feed<T extends KubernetesObject> extends Watch implements FeedControl {
  readonly index = new ObjectIndex<T>();
  private readonly informer: ListWatch<T>;
  /** The watch request while it is connected. */
  private request?: AbortController;
  /** When the watch stopped being connected: what is held is known complete up to then. */
  private downSince: number | undefined = Date.now();
  private relist: 'no' | 'abort' | 'next' = 'no';
  /** A list finished since the feed was (re)started or asked to relist. */
  private listedSinceAsked = false;
  private restartMs = RESTART_BASE_MS;
  private restartTimer?: NodeJS.Timeout;
  private closed = false;

  constructor(
    config: KubeConfig,
    readonly kind: FeedKind,
    path: string,
    labelSelector: string,
    list: () => Promise<KubernetesListObject<T>>,
    private readonly events: FeedEvents,
  ) {
    super(config);
    const listSlim = async () => {
      const answer = await list();
      for (const item of answer.items) slim(kind, item);
      this.listedSinceAsked = true;
      return answer;
    };
    this.informer = new ListWatch<T>(path, this, listSlim, false, labelSelector);
    const put = (o: T) => {
      this.index.put(o);
      events.changed();
    };
    this.informer.on('add', put);
    this.informer.on('update', put);
    this.informer.on('delete', (o) => {
      this.index.delete(o);
      events.changed();
    });
    this.informer.on('error', (e: unknown) => this.fail(e));
  }

  /** ListWatch stops on an error other than 410 or a timeout: say so, and start it again (with a new list) after a while. */
  private fail(error: unknown): void {
    if (this.closed) return;
    this.request = undefined;
    this.downSince ??= Date.now();
    this.events.failed(this.kind, error);
    clearTimeout(this.restartTimer);
    this.restartTimer = setTimeout(() => this.start(), this.restartMs);
    this.restartTimer.unref();
    this.restartMs = Math.min(this.restartMs * 2, RESTART_MAX_MS);
  }

  override async watch(
    path: string,
    params: Record<string, string | number | boolean | undefined>,
    callback: (phase: string, object: unknown, raw?: unknown) => void,
    done: (err: unknown) => void,
  ): Promise<AbortController> {
    // stopped while a list was running: ListWatch watches once that list is in, but nothing may open now
    if (this.closed) return new AbortController();
    if (this.relist === 'next') {
      // asked to relist while no watch was open: answer this watch with 410 Gone, ListWatch lists again
      this.relist = 'no';
      this.listedSinceAsked = false;
      setImmediate(() => done(GONE));
      return new AbortController();
    }
    let ended = false;
    const request = await super.watch(
      path,
      { ...params, allowWatchBookmarks: true },
      (phase, object: unknown, raw: unknown) => {
        if (phase === 'ADDED' || phase === 'MODIFIED' || phase === 'DELETED') slim(this.kind, object);
        callback(phase, object, raw);
      },
      (err: unknown) => {
        ended = true;
        if (this.request === request) this.request = undefined;
        this.downSince ??= Date.now();
        if (this.relist === 'abort') {
          this.relist = 'no';
          this.listedSinceAsked = false;
          done(GONE);
        } else done(err);
      },
    );
    if (!ended && !this.closed) {
      this.request = request;
      this.downSince = undefined;
      this.restartMs = RESTART_BASE_MS;
      if (this.listedSinceAsked) {
        this.listedSinceAsked = false;
        this.events.synced(this.kind);
      }
    }
    return request;
  }

  /** Lists (again) and watches; synced() follows once listed and connected. */
  start(): void {
    if (this.closed) return;
    clearTimeout(this.restartTimer);
    // A restart resumes from the last resourceVersion; list instead, as after any lost watch.
    if (this.informer.latestResourceVersion()) this.relist = 'next';
    void this.informer.start().catch((e: unknown) => this.fail(e));
  }

  /** Lists again while the watch goes on serving what is held; synced() follows once done. */
  resync(): void {
    if (this.closed) return;
    if (this.request) {
      this.relist = 'abort';
      this.request.abort();
    } else this.relist = 'next';
  }

  /** Up to when what is held is known complete: now while the watch is connected. */
  completeAt(now: number): number {
    return this.downSince ?? now;
  }

  async stop(): Promise<void> {
    this.closed = true;
    clearTimeout(this.restartTimer);
    await this.informer.stop();
  }
}

export interface ReadModelOptions {
  /** How often everything is listed again (default 60 s). */
  resyncMs?: number;
}

type WorkloadFeeds = Record<WorkloadKind, Feed<Workload>>;

/**
 * The watch-fed read model of one cluster: one informer per kind the read path lists, with the
 * selectors the direct path uses, each indexed by namespace and service. The ReadGate says when it
 * may answer; `source` answers the service join from it.
 */
export class KubernetesReadModel {
  private readonly workloads: WorkloadFeeds;
  private readonly replicaSetFeed: Feed<V1ReplicaSet>;
  private readonly podFeed: Feed<V1Pod>;
  private readonly serviceFeed: Feed<V1Service>;
  private readonly sliceFeed: Feed<V1EndpointSlice>;
  private readonly namespaceFeed: Feed<V1Namespace>;
  private readonly claimFeed: Feed<V1PersistentVolumeClaim>;
  private readonly feeds: FeedControl[];
  /** Feeds whose list (or relist) has not finished with the watch connected. */
  private readonly pending = new Set<FeedKind>();
  private timer?: NodeJS.Timeout;

  constructor(
    client: KubernetesClient,
    private readonly gate: ReadGate,
    private readonly options: ReadModelOptions = {},
  ) {
    const { apps, core, discovery } = client;
    const events: FeedEvents = {
      changed: () => gate.changed(),
      synced: (kind) => {
        this.pending.delete(kind);
        if (!this.pending.size) gate.synced();
      },
      failed: (kind, error) => {
        this.pending.add(kind);
        gate.lost(`watching ${kind}s: ${(error as Error | undefined)?.message ?? String(error)}`);
      },
    };
    const feed = <T extends KubernetesObject>(kind: FeedKind, path: string, labelSelector: string, list: () => Promise<KubernetesListObject<T>>) =>
      new Feed<T>(client.config, kind, path, labelSelector, list, events);
    const workload = `${MANAGED},${LABEL.service}`;
    this.workloads = {
      Deployment: feed('Deployment', '/apis/apps/v1/deployments', workload, () => apps.listDeploymentForAllNamespaces({ labelSelector: workload })),
      StatefulSet: feed('StatefulSet', '/apis/apps/v1/statefulsets', workload, () => apps.listStatefulSetForAllNamespaces({ labelSelector: workload })),
      DaemonSet: feed('DaemonSet', '/apis/apps/v1/daemonsets', workload, () => apps.listDaemonSetForAllNamespaces({ labelSelector: workload })),
    };
    this.replicaSetFeed = feed('ReplicaSet', '/apis/apps/v1/replicasets', workload, () => apps.listReplicaSetForAllNamespaces({ labelSelector: workload }));
    this.podFeed = feed('Pod', '/api/v1/pods', workload, () => core.listPodForAllNamespaces({ labelSelector: workload }));
    this.serviceFeed = feed('Service', '/api/v1/services', workload, () => core.listServiceForAllNamespaces({ labelSelector: workload }));
    // EndpointSlices carry their Service's labels, but the direct path selects them by the service label alone.
    this.sliceFeed = feed('EndpointSlice', '/apis/discovery.k8s.io/v1/endpointslices', LABEL.service, () =>
      discovery.listEndpointSliceForAllNamespaces({ labelSelector: LABEL.service }),
    );
    const apps_ = `${MANAGED},${LABEL.app}`;
    this.namespaceFeed = feed('Namespace', '/api/v1/namespaces', apps_, () => core.listNamespace({ labelSelector: apps_ }));
    const volumes = `${MANAGED},${LABEL.volume}`;
    this.claimFeed = feed('PersistentVolumeClaim', '/api/v1/persistentvolumeclaims', volumes, () =>
      core.listPersistentVolumeClaimForAllNamespaces({ labelSelector: volumes }),
    );
    this.feeds = [...Object.values(this.workloads), this.replicaSetFeed, this.podFeed, this.serviceFeed, this.sliceFeed, this.namespaceFeed, this.claimFeed];
  }

  start(): void {
    for (const f of this.feeds) this.pending.add(f.kind);
    for (const f of this.feeds) f.start();
    this.timer = setInterval(() => this.resync(), this.options.resyncMs ?? DEFAULT_RESYNC_MS);
    this.timer.unref();
  }

  /** Lists every kind again (the periodic resync); synced() once all are listed. */
  resync(): void {
    for (const f of this.feeds) this.pending.add(f.kind);
    for (const f of this.feeds) f.resync();
  }

  /** Up to when the objects of these feeds are known complete. */
  private completeAt(feeds: FeedControl[]): number {
    const now = Date.now();
    return Math.min(...feeds.map((f) => f.completeAt(now)));
  }

  /** Up to when what listServices, getService and rolloutStatus answer from is known complete. */
  servicesCompleteAt(): number {
    return this.completeAt([...Object.values(this.workloads), this.replicaSetFeed, this.podFeed, this.serviceFeed, this.sliceFeed]);
  }

  volumesCompleteAt(): number {
    return this.completeAt([this.claimFeed]);
  }

  readonly source: SnapshotSource = {
    workloads: async (namespace, service) =>
      (Object.entries(this.workloads) as Array<[WorkloadKind, Feed<Workload>]>).flatMap(([kind, f]) =>
        f.index.select(namespace, service).map((workload) => ({ kind, workload }) as LiveWorkload),
      ),
    pods: async () => (namespace, service) => this.podFeed.index.of(namespace, service),
    services: async () => (namespace, service) => this.serviceFeed.index.of(namespace, service),
    slices: async () => (namespace, service) => this.sliceFeed.index.of(namespace, service),
    replicaSets: async () => (namespace, service) => this.replicaSetFeed.index.of(namespace, service),
  };

  /** The managed namespaces (apps) and, for each, its workloads' service labels, sorted as listApps sorts them. */
  apps(): Array<{ name: string; services: string[] }> {
    return this.namespaceFeed.index
      .select(undefined, undefined)
      .map((ns) => ns.metadata?.name ?? '')
      .filter((name) => name !== '')
      .sort()
      .map((name) => ({
        name,
        services: Object.values(this.workloads)
          .flatMap((f) => [...f.index.services(name)].flatMap(([service, n]) => Array<string>(n).fill(service)))
          .sort(),
      }));
  }

  /** Which app a namespace is and its services' names, as the event stream labels events. */
  appOf(namespace: string): AppOfNamespace {
    const app = this.namespaceFeed.index.get('', namespace)?.metadata?.labels?.[LABEL.app];
    if (!app) return { services: [] };
    return { app, services: [...this.serviceFeed.index.services(namespace)].map(([service]) => service).filter(Boolean) };
  }

  /** The Berth claims of an app (or every app), in list order. */
  claims(app: string | undefined): V1PersistentVolumeClaim[] {
    return this.claimFeed.index.select(app, undefined);
  }

  counts(): Record<string, number> {
    return Object.fromEntries(this.feeds.map((f) => [f.kind, f.index.size]));
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await Promise.all(this.feeds.map((f) => f.stop()));
  }
}
