import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import type { Cluster } from '@berth/db';

export type Role = 'viewer' | 'operator' | 'admin';

export interface Grant {
  role: Role;
  /** null: every cluster */
  clusterId: string | null;
  /** null: every app of the cluster */
  app: string | null;
}

/** The authenticated caller: an API token and what it was granted. */
export interface Principal {
  tokenId: string;
  name: string;
  grants: Grant[];
}

export interface RequestContext {
  correlationId: string;
  /** Who is asking: the API token's name ("token:ci-deployer"), recorded on every operation. */
  requester: string;
  principal?: Principal;
  /**
   * Cluster rows the auth guard read for this request, by the name or id the call gave, so the
   * handler does not read them again. Dropped when the response ends (work the request started and
   * that outlives it reads its own).
   */
  clusters?: Map<string, Cluster>;
}

const storage = new AsyncLocalStorage<RequestContext>();

export const requestContext = {
  run<T>(ctx: RequestContext, fn: () => T): T {
    return storage.run(ctx, fn);
  },
  get(): RequestContext | undefined {
    return storage.getStore();
  },
  correlationId(): string | undefined {
    return storage.getStore()?.correlationId;
  },
  requester(): string {
    return storage.getStore()?.requester ?? 'anonymous';
  },
  principal(): Principal | undefined {
    return storage.getStore()?.principal;
  },
};

const SAFE_ID = /^[A-Za-z0-9._-]{1,128}$/;

/** A caller's x-request-id when it is safe to echo into logs; otherwise a fresh one. */
export function correlationIdFrom(header: unknown): string {
  return typeof header === 'string' && SAFE_ID.test(header) ? header : randomUUID();
}
