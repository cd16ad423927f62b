import { ApiException } from '@kubernetes/client-node';
import { LABEL, MANAGER, type ClusterEvent, type EventOptions } from '@berth/driver';
import { ResourceVersionGone, plain, type KubernetesClient } from './kubernetes.client.js';
import { toDriverError } from './kubernetes-errors.js';
import { clusterEvent, serviceFromName, type EventJson } from './kubernetes-status.mapper.js';

/** How long the namespace → app/services lookup is trusted before it is read again. */
const LOOKUP_TTL_MS = 5_000;

/** Which Berth app a namespace is, and the names of its services. */
export interface AppOfNamespace {
  app?: string;
  services: string[];
}

/**
 * Answers from memory when it can (the read model, while live); undefined sends the lookup to the
 * API server.
 */
export type KnownApps = (namespace: string) => AppOfNamespace | undefined;

/**
 * Which Berth app (and which of its services) an event's namespace and object belong to. An event
 * never waits for the API server once its namespace has been read: an entry past its TTL answers
 * at once while it is read again in the background, unless it cannot name the event's service
 * (a service newer than the entry), which is worth the wait.
 */
class AppLookup {
  private readonly cache = new Map<string, AppOfNamespace & { at: number }>();
  private readonly loading = new Map<string, Promise<AppOfNamespace & { at: number }>>();

  constructor(
    private readonly client: KubernetesClient,
    private readonly known?: KnownApps,
  ) {}

  private read(namespace: string): Promise<AppOfNamespace & { at: number }> {
    const running = this.loading.get(namespace);
    if (running) return running;
    const load = (async () => {
      const ns = await this.client.optional(`reading namespace ${namespace}`, () => this.client.core.readNamespace({ name: namespace }));
      const app = ns?.metadata?.labels?.[LABEL.managedBy] === MANAGER ? ns.metadata.labels[LABEL.app] : undefined;
      let services: string[] = [];
      if (app) {
        const list = await this.client.call(`listing Services in namespace ${namespace}`, () =>
          this.client.core.listNamespacedService({ namespace, labelSelector: `${LABEL.managedBy}=${MANAGER},${LABEL.service}` }),
        );
        services = [...new Set(list.items.map((s) => s.metadata?.labels?.[LABEL.service] ?? ''))].filter(Boolean);
      }
      const entry = { ...(app ? { app } : {}), services, at: Date.now() };
      this.cache.set(namespace, entry);
      return entry;
    })().finally(() => this.loading.delete(namespace));
    this.loading.set(namespace, load);
    return load;
  }

  /** Reads a namespace ahead of its first event. */
  prefetch(namespace: string): void {
    if (!this.known?.(namespace)) this.read(namespace).catch(() => undefined);
  }

  async event(e: EventJson): Promise<ClusterEvent> {
    const namespace = e.involvedObject?.namespace ?? e.metadata?.namespace;
    if (!namespace) return clusterEvent(e, undefined, []);
    const known = this.known?.(namespace);
    if (known) return clusterEvent(e, known.app, known.services);
    let entry = this.cache.get(namespace) ?? (await this.read(namespace));
    if (Date.now() - entry.at >= LOOKUP_TTL_MS) {
      const fresh = this.read(namespace);
      if (entry.app && !serviceFromName(e.involvedObject?.name ?? '', entry.services)) entry = await fresh;
      else fresh.catch(() => undefined);
    }
    return clusterEvent(e, entry.app, entry.services);
  }
}

/**
 * Events (core/v1) of one app's namespace, or of the whole cluster, from `since` (a
 * resourceVersion) or from now. When the cursor has expired (410 Gone) the events that still exist
 * are listed again, so a consumer de-duplicating by id loses nothing Kubernetes still holds.
 */
export async function* watchEvents(client: KubernetesClient, options: EventOptions, known?: KnownApps): AsyncGenerator<ClusterEvent> {
  const { app, signal } = options;
  const path = app ? `/api/v1/namespaces/${app}/events` : '/api/v1/events';
  const lookup = new AppLookup(client, known);
  if (app) lookup.prefetch(app);
  const list = (limit?: number) =>
    client.call(`listing events${app ? ` in namespace ${app}` : ''}`, () =>
      app ? client.core.listNamespacedEvent({ namespace: app, ...(limit ? { limit } : {}) }) : client.core.listEventForAllNamespaces(limit ? { limit } : {}),
    );
  // Without a cursor the stream starts now: one item is enough to learn the current resourceVersion.
  let cursor = options.since ?? (await list(1)).metadata?.resourceVersion;
  while (!signal?.aborted) {
    try {
      for await (const n of client.watch(path, { resourceVersion: cursor, allowWatchBookmarks: true }, signal)) {
        if (n.type === 'ERROR') {
          const status = n.object as { code?: number };
          if (status.code === 410) throw new ResourceVersionGone();
          throw toDriverError(new ApiException(status.code ?? 500, 'watch error', JSON.stringify(n.object), {}), 'watching events');
        }
        const e = n.object as EventJson;
        if (e.metadata?.resourceVersion) cursor = e.metadata.resourceVersion;
        // Bookmarks only move the cursor; a deleted event is one that expired (its TTL), not news.
        if (n.type !== 'ADDED' && n.type !== 'MODIFIED') continue;
        yield await lookup.event(e);
      }
    } catch (e) {
      if (!(e instanceof ResourceVersionGone)) throw e;
      const current = await list();
      for (const item of current.items) yield await lookup.event(plain(item) as unknown as EventJson);
      cursor = current.metadata?.resourceVersion;
    }
  }
}
