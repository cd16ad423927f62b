import type { Grant, Principal, Role } from '../common/request-context.js';

/** What a call needs: read (viewer), operate (operator: deploy, scale, update, roll back, run jobs), admin. */
export type Access = 'read' | 'operate' | 'admin';

const RANK: Record<Role, number> = { viewer: 1, operator: 2, admin: 3 };
const NEED: Record<Access, number> = { read: 1, operate: 2, admin: 3 };

const covers = (g: Grant, clusterId: string, app?: string) => (g.clusterId === null || g.clusterId === clusterId) && (g.app === null || g.app === app);

/** May `principal` do `access` on the cluster (and app)? A grant narrowed to an app covers only that app. */
export function allows(principal: Principal, access: Access, clusterId: string, app?: string): boolean {
  return principal.grants.some((g) => RANK[g.role] >= NEED[access] && covers(g, clusterId, app));
}

/** Sees the cluster at all (any grant on it, whole or one app). */
export function seesCluster(principal: Principal, clusterId: string): boolean {
  return principal.grants.some((g) => g.clusterId === null || g.clusterId === clusterId);
}

/** Apps of a cluster the principal may read: 'all', or the named ones. */
export function visibleApps(principal: Principal, clusterId: string): 'all' | Set<string> {
  const grants = principal.grants.filter((g) => g.clusterId === null || g.clusterId === clusterId);
  if (grants.some((g) => g.app === null)) return 'all';
  return new Set(grants.map((g) => g.app!));
}

/** Clusters the principal may see: 'all', or their ids. */
export function visibleClusters(principal: Principal): 'all' | Set<string> {
  if (principal.grants.some((g) => g.clusterId === null)) return 'all';
  return new Set(principal.grants.map((g) => g.clusterId!));
}

/** Admin on every cluster: manages tokens, reads the audit log, registers clusters. */
export function isGlobalAdmin(principal: Principal): boolean {
  return principal.grants.some((g) => g.role === 'admin' && g.clusterId === null && g.app === null);
}

/** Admin on the whole cluster (not one app of it): sets its workload policy and may go past it. */
export function isClusterAdmin(principal: Principal, clusterId: string): boolean {
  return principal.grants.some((g) => g.role === 'admin' && (g.clusterId === null || g.clusterId === clusterId) && g.app === null);
}
