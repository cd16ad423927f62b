import type { Prisma } from '@berth/db';
import { allows, seesCluster } from '../auth/access.js';
import { BerthError } from '../common/errors.js';
import type { Principal } from '../common/request-context.js';

/**
 * What a token may read of the monitoring history: events and samples of its clusters, and of its
 * apps where a grant names one. The guard only sees path and GraphQL arguments, not query strings,
 * so the services apply this themselves. No principal: a call from inside the gateway (all).
 */
export function eventScope(principal: Principal | undefined): Prisma.ClusterEventWhereInput {
  if (!principal || principal.grants.some((g) => g.clusterId === null && g.app === null)) return {};
  return { OR: principal.grants.map((g) => ({ ...(g.clusterId ? { clusterId: g.clusterId } : {}), ...(g.app ? { app: g.app } : {}) })) };
}

export function mayRead(principal: Principal | undefined, clusterId: string, app: string | null | undefined): boolean {
  return !principal || allows(principal, 'read', clusterId, app ?? undefined);
}

/** A cluster the token has no grant on does not exist for it: the same 404 as an unknown one. */
export function requireVisible(principal: Principal | undefined, cluster: { id: string }, nameOrId: string): void {
  if (principal && !seesCluster(principal, cluster.id)) throw BerthError.notFound(`cluster "${nameOrId}"`);
}
