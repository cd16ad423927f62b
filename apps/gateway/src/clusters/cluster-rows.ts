import { Inject, Injectable } from '@nestjs/common';
import type { Cluster, PrismaClient } from '@berth/db';
import { TtlCache } from '../common/ttl-cache.js';
import { PRISMA } from '../database/database.module.js';

/** As long as a token is trusted without reading it again (TOKEN_CACHE_TTL_MS), and for the same reason: every request needs it. */
export const CLUSTER_CACHE_TTL_MS = 5_000;
const CLUSTER_CACHE_MAX = 1_000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The cluster row of a request, by name or id, read once per CLUSTER_CACHE_TTL_MS instead of on every
 * request (the auth guard and the handler both need it). This replica forgets them as soon as it
 * changes or removes a cluster; another replica's change is seen within the TTL.
 */
@Injectable()
export class ClusterRows {
  private readonly cache = new TtlCache<string, Cluster>(CLUSTER_CACHE_TTL_MS, CLUSTER_CACHE_MAX);

  constructor(@Inject(PRISMA) private readonly prisma: PrismaClient) {}

  find(nameOrId: string): Promise<Cluster | undefined> {
    return this.cache.load(nameOrId, async () => {
      const row = await this.prisma.cluster.findFirst({ where: UUID.test(nameOrId) ? { OR: [{ id: nameOrId }, { name: nameOrId }] } : { name: nameOrId } });
      return row ?? undefined;
    });
  }

  /** After a cluster was registered, changed or removed here (entries are keyed by name and by id: all go). */
  forget(): void {
    this.cache.forget();
  }
}
