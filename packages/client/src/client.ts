import createClient, { type Client } from 'openapi-fetch';
import { EventSourceParserStream } from 'eventsource-parser/stream';
import type { paths } from './api.js';

/** The error body of the API, as a thrown error. */
export class BerthApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: { path: string; message: string }[] = [],
    readonly correlationId?: string,
  ) {
    super(message);
    this.name = 'BerthApiError';
  }
}

type Paths = paths;
type Json<R> = R extends { content: { 'application/json': infer B } } ? B : never;
/** The body of an operation's success response (200, 201 or 202). */
type Ok<P extends keyof Paths, M extends keyof Paths[P]> = Paths[P][M] extends { responses: infer R }
  ? R extends { 202: infer S }
    ? Json<S>
    : R extends { 201: infer S }
      ? Json<S>
      : R extends { 200: infer S }
        ? Json<S>
        : never
  : never;

export type ChangeResult = Ok<'/v1/clusters/{cluster}/apps', 'post'>;
export type Operation = Ok<'/v1/operations/{id}', 'get'>;
export type AppState = Ok<'/v1/clusters/{cluster}/apps/{app}', 'get'>;
export type WorkloadPolicyView = Ok<'/v1/clusters/{cluster}/policy', 'get'>;
export type ServiceDiscovery = Ok<'/v1/clusters/{cluster}/apps/{app}/services/{service}', 'get'>;

export interface BerthClientOptions {
  /** e.g. http://127.0.0.1:8080 */
  baseUrl: string;
  token: string;
  fetch?: typeof fetch;
}

export interface ChangeOptions {
  /** Block until the operation ends. */
  wait?: boolean;
  /** A retry with the same key returns the first call's operation. */
  idempotencyKey?: string;
}

const OPEN = new Set(['pending', 'running']);

export function unwrap<T>(res: { data?: T; error?: unknown; response: Response }): T {
  if (res.error !== undefined || res.data === undefined) {
    const body = (
      res.error as { error?: { code?: string; message?: string; details?: { path: string; message: string }[]; correlationId?: string } } | undefined
    )?.error;
    throw new BerthApiError(
      res.response.status,
      body?.code ?? 'HTTP_ERROR',
      body?.message ?? `HTTP ${res.response.status}`,
      body?.details ?? [],
      body?.correlationId,
    );
  }
  return res.data;
}

/**
 * A typed client of the REST API (types generated from the gateway's OpenAPI document), with the
 * calls automation needs most. `http` is the complete typed client for everything else.
 */
export class BerthClient {
  readonly http: Client<Paths>;

  constructor(private readonly options: BerthClientOptions) {
    this.http = createClient<Paths>({ baseUrl: options.baseUrl, fetch: options.fetch, headers: { authorization: `Bearer ${options.token}` } });
  }

  private changeHeaders(o: ChangeOptions) {
    return o.idempotencyKey ? { 'Idempotency-Key': o.idempotencyKey } : {};
  }

  async clusters() {
    return unwrap(await this.http.GET('/v1/clusters')).items;
  }

  /** Applies an AppSpec object, or a Compose file given as YAML text. */
  async apply(cluster: string, spec: object | string, o: ChangeOptions & { name?: string } = {}): Promise<ChangeResult> {
    const isCompose = typeof spec === 'string';
    return unwrap(
      await this.http.POST('/v1/clusters/{cluster}/apps', {
        params: { path: { cluster }, query: { wait: o.wait ? 'true' : undefined, name: o.name } as never, header: this.changeHeaders(o) as never },
        body: spec as never,
        ...(isCompose ? { bodySerializer: (b: unknown) => b as string, headers: { 'content-type': 'application/yaml' } } : {}),
      }),
    );
  }

  /** The AppSpec a Compose file (YAML, or a JSON Compose request) converts to, with its conversion report; deploys nothing. */
  async convertCompose(compose: string | { compose: string }, name?: string) {
    return unwrap(
      await this.http.POST('/v1/compose/convert', {
        params: { query: { name } as never },
        body: compose as never,
        ...(typeof compose === 'string' ? { bodySerializer: (b: unknown) => b as string, headers: { 'content-type': 'application/yaml' } } : {}),
      }),
    );
  }

  async plan(cluster: string, spec: object | string, name?: string) {
    const isCompose = typeof spec === 'string';
    return unwrap(
      await this.http.POST('/v1/clusters/{cluster}/apps/plan', {
        params: { path: { cluster }, query: { name } as never },
        body: spec as never,
        ...(isCompose ? { bodySerializer: (b: unknown) => b as string, headers: { 'content-type': 'application/yaml' } } : {}),
      }),
    );
  }

  /** The cluster's workload policy (admins of the cluster). */
  async policy(cluster: string): Promise<WorkloadPolicyView> {
    return unwrap(await this.http.GET('/v1/clusters/{cluster}/policy', { params: { path: { cluster } } }));
  }

  /** Replaces the cluster's workload policy; `{}` restores the default. */
  async setPolicy(cluster: string, policy: object): Promise<WorkloadPolicyView> {
    return unwrap(await this.http.PUT('/v1/clusters/{cluster}/policy', { params: { path: { cluster } }, body: policy as never }));
  }

  async app(cluster: string, app: string): Promise<AppState> {
    return unwrap(await this.http.GET('/v1/clusters/{cluster}/apps/{app}', { params: { path: { cluster, app } } }));
  }

  async scale(cluster: string, app: string, service: string, replicas: number, o: ChangeOptions = {}): Promise<ChangeResult> {
    return unwrap(
      await this.http.POST('/v1/clusters/{cluster}/apps/{app}/services/{service}/scale', {
        params: { path: { cluster, app, service }, query: { wait: o.wait ? 'true' : undefined } as never, header: this.changeHeaders(o) as never },
        body: { replicas },
      }),
    );
  }

  async updateService(cluster: string, app: string, service: string, patch: Record<string, unknown>, o: ChangeOptions = {}): Promise<ChangeResult> {
    return unwrap(
      await this.http.PATCH('/v1/clusters/{cluster}/apps/{app}/services/{service}', {
        params: { path: { cluster, app, service }, query: { wait: o.wait ? 'true' : undefined } as never, header: this.changeHeaders(o) as never },
        body: patch as never,
      }),
    );
  }

  async rollback(cluster: string, app: string, target: { revision?: number; service?: string }, o: ChangeOptions = {}): Promise<ChangeResult> {
    const query = { wait: o.wait ? 'true' : undefined } as never;
    const body = target.revision ? { revision: target.revision } : {};
    if (target.service) {
      return unwrap(
        await this.http.POST('/v1/clusters/{cluster}/apps/{app}/services/{service}/rollback', {
          params: { path: { cluster, app, service: target.service }, query, header: this.changeHeaders(o) as never },
          body,
        }),
      );
    }
    return unwrap(
      await this.http.POST('/v1/clusters/{cluster}/apps/{app}/rollback', {
        params: { path: { cluster, app }, query, header: this.changeHeaders(o) as never },
        body,
      }),
    );
  }

  async runJob(cluster: string, job: Record<string, unknown>, o: ChangeOptions = {}) {
    return unwrap(
      await this.http.POST('/v1/clusters/{cluster}/jobs', {
        params: { path: { cluster }, query: { wait: o.wait ? 'true' : undefined } as never, header: this.changeHeaders(o) as never },
        body: job as never,
      }),
    );
  }

  async operation(id: string): Promise<Operation> {
    return unwrap(await this.http.GET('/v1/operations/{id}', { params: { path: { id } } }));
  }

  async operations(filter: { cluster?: string; app?: string; service?: string; status?: string; limit?: number } = {}) {
    return unwrap(await this.http.GET('/v1/operations', { params: { query: filter as never } }));
  }

  /**
   * Follows an operation to its end over its server-sent events, telling `onProgress` about each
   * progress entry (those so far, then live ones); reads the operation once it has ended.
   */
  async waitFor(id: string, o: { timeoutMs?: number; onProgress?: (p: NonNullable<Operation['progress']>[number]) => void } = {}): Promise<Operation> {
    const timeoutMs = o.timeoutMs ?? 30 * 60_000;
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), timeoutMs);
    try {
      for await (const event of this.events(`/v1/operations/${encodeURIComponent(id)}/events`, {}, abort.signal)) {
        if (event.event === 'progress') o.onProgress?.(JSON.parse(event.data) as NonNullable<Operation['progress']>[number]);
        if (event.event === 'end') break;
      }
    } catch (e) {
      if (!abort.signal.aborted) throw e;
    } finally {
      clearTimeout(timer);
    }
    const op = await this.operation(id);
    if (OPEN.has(op.status)) throw new BerthApiError(504, 'TIMEOUT', `operation ${id} still ${op.status} after ${Math.round(timeoutMs / 1000)} s`);
    return op;
  }

  /** A streaming GET (server-sent events or NDJSON), with the API's error body thrown as a BerthApiError. */
  async stream(pathname: string, query: Record<string, string | undefined>, accept: string, signal?: AbortSignal): Promise<ReadableStream<string>> {
    const url = new URL(pathname, this.options.baseUrl);
    for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, v);
    const res = await (this.options.fetch ?? fetch)(url, { headers: { authorization: `Bearer ${this.options.token}`, accept }, signal });
    if (!res.ok || !res.body) {
      const error = await res.json().catch(() => undefined);
      return unwrap<ReadableStream<string>>({ error: error ?? {}, response: res });
    }
    return res.body.pipeThrough(new TextDecoderStream());
  }

  /** The server-sent events of a stream endpoint, as they come. */
  async *events(pathname: string, query: Record<string, string | undefined>, signal?: AbortSignal) {
    const body = (await this.stream(pathname, query, 'text/event-stream', signal)).pipeThrough(new EventSourceParserStream());
    for await (const event of body) yield event;
  }

  /** The lines of an NDJSON stream endpoint, parsed, as they come. */
  async *ndjson<T>(pathname: string, query: Record<string, string | undefined>, signal?: AbortSignal): AsyncGenerator<T> {
    let rest = '';
    for await (const chunk of await this.stream(pathname, query, 'application/x-ndjson', signal)) {
      const lines = (rest + chunk).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) if (line.trim()) yield JSON.parse(line) as T;
    }
    if (rest.trim()) yield JSON.parse(rest) as T;
  }
}

export function createBerthClient(options: BerthClientOptions): BerthClient {
  return new BerthClient(options);
}
