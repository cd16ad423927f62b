import { createHash } from 'node:crypto';
import type { AgentOptions } from 'node:https';
import { PassThrough } from 'node:stream';
import { createInterface } from 'node:readline';
import {
  ApisApi,
  AppsV1Api,
  BatchV1Api,
  CoreV1Api,
  DiscoveryV1Api,
  KubeConfig,
  KubernetesObjectApi,
  Log,
  Metrics,
  PatchStrategy,
  VersionApi,
  Watch,
  type Cluster,
  type DispatcherOptions,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { DriverError, DriverErrorCode, MANAGER, type ClusterConnection } from '@berth/driver';
import { isNotFound, toDriverError } from './kubernetes-errors.js';
import type { KubeObject } from './kubernetes-objects.mapper.js';

export type KubernetesConnection = Extract<ClusterConnection, { kind: 'kubernetes' }>;

/** Plain JSON of a client-node object: Dates become strings, unset fields disappear (for diffs and hashes). */
export function plain<T>(obj: T): T {
  return JSON.parse(JSON.stringify(obj)) as T;
}

/** Names an object in messages: "Deployment web in namespace shop". */
export function describe(kind: string, name: string, namespace?: string): string {
  return `${kind} ${name}${namespace ? ` in namespace ${namespace}` : ''}`;
}

function loadConfig(conn: KubernetesConnection): KubeConfig {
  const kc = new KubeConfig();
  try {
    kc.loadFromString(conn.kubeconfig);
  } catch (e) {
    throw new DriverError(DriverErrorCode.Invalid, `the kubeconfig is not valid YAML or not a kubeconfig: ${(e as Error).message}`, [
      { path: 'kubeconfig', message: 'invalid kubeconfig' },
    ]);
  }
  if (conn.context) {
    if (!kc.getContextObject(conn.context)) {
      const known = kc.getContexts().map((c) => c.name);
      throw new DriverError(DriverErrorCode.Invalid, `context "${conn.context}" is not in the kubeconfig (it has: ${known.join(', ') || 'none'})`, [
        { path: 'context', message: 'unknown context' },
      ]);
    }
    kc.setCurrentContext(conn.context);
  }
  if (!kc.getCurrentCluster()) {
    throw new DriverError(DriverErrorCode.Invalid, 'the kubeconfig names no cluster for its current context; set "context" or fix current-context', [
      { path: 'kubeconfig', message: 'no current cluster' },
    ]);
  }
  return kc;
}

/** The part of an undici dispatcher Berth uses. */
interface Dispatcher {
  close(): Promise<void>;
}

const canonical = (v: unknown): unknown => (Buffer.isBuffer(v) ? v.toString('base64') : Array.isArray(v) ? v.map(canonical) : v);

/** Identifies what a dispatcher was built from: the endpoint, the proxy and every TLS option (certificates by content). */
function dispatcherKey(cluster: Cluster | null, options: DispatcherOptions): string {
  const tls = options.type === 'agent' ? options.connect : options.type === 'none' ? {} : { ...options.requestTls, proxy: options.uri };
  const fields = Object.entries(tls)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => [k, canonical(v)]);
  return createHash('sha256')
    .update(JSON.stringify([options.type, cluster?.server, cluster?.proxyUrl, fields]))
    .digest('hex');
}

/**
 * client-node 2 builds a new undici Agent for every request (KubeConfig.applySecurityAuthentication ->
 * createDispatcher, which every API class, Watch, Log and Metrics go through), so every call opened its
 * own TLS connection: the handshakes were about 20 % of the gateway's CPU in the benchmark profile.
 * This keeps the dispatcher and its connection pool for as long as the options it was built from stay
 * the same. The options are read again on every request, as before: a client certificate that an exec
 * plugin renews, or a rotated certificate file, gets a new dispatcher. The old one is only let go, not
 * closed: a request may hold it between authentication and sending, and undici closes its idle
 * connections after a few seconds anyway. createDispatcher is private in client-node's types, hence the
 * cast; if a release drops it, requests go on without the cache. Returns what closes the dispatcher.
 */
function keepConnections(kc: KubeConfig): () => void {
  const target = kc as unknown as { createDispatcher?: (cluster: Cluster | null, options: AgentOptions) => Dispatcher | undefined };
  if (typeof target.createDispatcher !== 'function') return () => undefined;
  const create = target.createDispatcher.bind(kc);
  let current: { key: string; dispatcher: Dispatcher | undefined } | undefined;
  target.createDispatcher = (cluster, options) => {
    const key = dispatcherKey(cluster, kc.createDispatcherOptions(cluster, options));
    if (current?.key !== key) current = { key, dispatcher: create(cluster, options) };
    return current.dispatcher;
  };
  return () => {
    void current?.dispatcher?.close().catch(() => undefined);
    current = undefined;
  };
}

/** The watch's resourceVersion is too old (HTTP 410 Gone): list again and watch from the list's version. */
export class ResourceVersionGone extends Error {
  constructor() {
    super('the watch resourceVersion is too old (410 Gone)');
    this.name = 'ResourceVersionGone';
  }
}

/** One raw watch notification: the object arrives as JSON, not as client-node's typed model. */
export interface WatchNotification {
  type: string;
  object: unknown;
}

/**
 * The client-node APIs of one cluster, with every call's failure translated into a DriverError
 * that names what was being done.
 */
export class KubernetesClient {
  readonly core: CoreV1Api;
  readonly apps: AppsV1Api;
  readonly batch: BatchV1Api;
  readonly discovery: DiscoveryV1Api;
  readonly version: VersionApi;
  readonly apis: ApisApi;
  readonly metrics: Metrics;
  /** The loaded kubeconfig, for client-node classes made per use (the read model's watches). */
  readonly config: KubeConfig;
  private readonly objects: KubernetesObjectApi;
  private readonly watcher: Watch;
  private readonly logReader: Log;
  /** Streams still open, aborted by close(). */
  private readonly open = new Set<AbortController>();
  /** Closes the connection pool shared by every request (a later request opens a new one). */
  private readonly closeConnections: () => void;

  constructor(conn: KubernetesConnection) {
    const kc = loadConfig(conn);
    this.config = kc;
    this.closeConnections = keepConnections(kc);
    this.core = kc.makeApiClient(CoreV1Api);
    this.apps = kc.makeApiClient(AppsV1Api);
    this.batch = kc.makeApiClient(BatchV1Api);
    this.discovery = kc.makeApiClient(DiscoveryV1Api);
    this.version = kc.makeApiClient(VersionApi);
    this.apis = kc.makeApiClient(ApisApi);
    this.metrics = new Metrics(kc);
    this.objects = KubernetesObjectApi.makeApiClient(kc);
    this.watcher = new Watch(kc);
    this.logReader = new Log(kc);
  }

  async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw toDriverError(e, what);
    }
  }

  /** Like call(), but a 404 is an answer (undefined), not an error. */
  async optional<T>(what: string, fn: () => Promise<T>): Promise<T | undefined> {
    try {
      return await fn();
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw toDriverError(e, what);
    }
  }

  /**
   * Server-side apply as Berth's field manager. Forcing takes back fields someone else changed
   * (kubectl edit, scale): the applied spec is the desired state. `dryRun` returns the object as
   * the API server would store it (defaults filled in) without storing it.
   */
  apply(obj: KubeObject, options: { dryRun?: boolean } = {}): Promise<KubernetesObject> {
    const what = `applying ${describe(obj.kind, obj.metadata.name, obj.metadata.namespace)}`;
    return this.call(what, () =>
      this.objects.patch(obj as KubernetesObject, undefined, options.dryRun ? 'All' : undefined, MANAGER, true, PatchStrategy.ServerSideApply),
    );
  }

  /** Deletes an object; one that is already gone counts as deleted. Dependents go in the background. */
  async remove(obj: Pick<KubeObject, 'apiVersion' | 'kind'> & { metadata: { name: string; namespace?: string } }): Promise<boolean> {
    const what = `deleting ${describe(obj.kind, obj.metadata.name, obj.metadata.namespace)}`;
    const done = await this.optional(what, () => this.objects.delete(obj as KubernetesObject, undefined, undefined, undefined, undefined, 'Background'));
    return done !== undefined;
  }

  /** A watch as an async stream of notifications; ends when the server closes it or `signal` aborts. */
  async *watch(path: string, params: Record<string, string | number | boolean | undefined>, signal?: AbortSignal): AsyncGenerator<WatchNotification> {
    const queue: WatchNotification[] = [];
    let finished = false;
    let failure: unknown;
    let wake: (() => void) | undefined;
    const notify = () => {
      wake?.();
      wake = undefined;
    };
    const controller = await this.watcher.watch(
      path,
      params,
      (type, object) => {
        queue.push({ type, object });
        notify();
      },
      (err: unknown) => {
        finished = true;
        failure = err;
        notify();
      },
    );
    this.open.add(controller);
    const onAbort = () => {
      controller.abort();
      notify();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      for (;;) {
        while (queue.length) yield queue.shift()!;
        if (signal?.aborted) return;
        if (finished) {
          // client-node ends an idle watch after 30 s with a TimeoutError: a normal end, the caller watches again.
          const name = (failure as { name?: string } | null)?.name;
          if ((failure as { statusCode?: number } | null)?.statusCode === 410) throw new ResourceVersionGone();
          if (failure && name !== 'TimeoutError' && name !== 'AbortError') throw toDriverError(failure, `watching ${path}`);
          return;
        }
        await new Promise<void>((resolve) => (wake = resolve));
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
      controller.abort();
      this.open.delete(controller);
    }
  }

  /** A container's log as lines, with the API server's timestamp split off each line. */
  async *logLines(
    namespace: string,
    pod: string,
    container: string,
    options: { follow?: boolean; tailLines?: number; sinceTime?: string; sinceSeconds?: number },
    signal?: AbortSignal,
  ): AsyncGenerator<{ time?: string; line: string }> {
    const sink = new PassThrough();
    // client-node pipes the response body into the sink without an error listener: aborting the
    // request (or a dropped connection) would then throw from the body's 'error' event. Listen on
    // it; the log just ends.
    sink.on('pipe', (body: NodeJS.ReadableStream) => body.on('error', () => sink.end()));
    const controller = await this.call(`reading the log of pod ${pod} in namespace ${namespace}`, () =>
      this.logReader.log(namespace, pod, container, sink, { ...options, timestamps: true }),
    );
    this.open.add(controller);
    // An aborted request errors the response body, which does not end the piped sink: end it here.
    const stop = () => {
      controller.abort();
      sink.end();
    };
    signal?.addEventListener('abort', stop, { once: true });
    controller.signal.addEventListener('abort', () => sink.end(), { once: true });
    try {
      for await (const raw of createInterface({ input: sink, crlfDelay: Infinity })) {
        const m = /^(\d{4}-\d{2}-\d{2}T\S+)\s(.*)$/.exec(raw);
        yield m ? { time: m[1]!, line: m[2]! } : { line: raw };
      }
    } finally {
      signal?.removeEventListener('abort', stop);
      controller.abort();
      this.open.delete(controller);
    }
  }

  close(): void {
    for (const c of this.open) c.abort();
    this.open.clear();
    this.closeConnections();
  }
}
