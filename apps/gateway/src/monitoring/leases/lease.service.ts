import { Inject, Injectable } from '@nestjs/common';
import type { Prisma, PrismaClient } from '@berth/db';
import { CONFIG, type Config } from '../../config/config.js';
import { PRISMA } from '../../database/database.module.js';

export interface LeaseRow {
  name: string;
  owner: string;
  acquiredAt: Date;
  renewedAt: Date;
  expiresAt: Date;
  status: Record<string, unknown>;
}

/** A transaction client, for work that must only commit while this replica still holds a lease. */
export type Tx = Prisma.TransactionClient;

/**
 * Time-bound ownership of background work, kept in Postgres (no other coordination service).
 * Every comparison uses the database's clock, so replicas with skewed clocks still agree on who
 * owns what. A lease is a row rather than a session advisory lock because Prisma lends pooled
 * connections: a session lock would be held by whichever connection took it, not by this replica.
 */
@Injectable()
export class LeaseService {
  readonly instanceId: string;
  readonly ttlMs: number;

  constructor(
    @Inject(PRISMA) private readonly prisma: PrismaClient,
    @Inject(CONFIG) config: Config,
  ) {
    this.instanceId = config.monitoring.instanceId;
    this.ttlMs = config.monitoring.leaseTtlMs;
  }

  /** Takes the lease when it is free or lapsed, renews it when it is ours; false when another replica holds it. */
  async acquire(name: string, status: Record<string, unknown> = {}): Promise<boolean> {
    const rows = await this.prisma.$queryRaw<{ owner: string }[]>`
      INSERT INTO "MonitorLease" ("name", "owner", "acquiredAt", "renewedAt", "expiresAt", "status")
      VALUES (${name}, ${this.instanceId}, now(), now(), now() + ${this.ttlMs}::int * interval '1 millisecond', ${JSON.stringify(status)}::jsonb)
      ON CONFLICT ("name") DO UPDATE SET
        "acquiredAt" = CASE WHEN "MonitorLease"."owner" = EXCLUDED."owner" THEN "MonitorLease"."acquiredAt" ELSE now() END,
        "owner" = EXCLUDED."owner",
        "renewedAt" = now(),
        "expiresAt" = EXCLUDED."expiresAt",
        "status" = EXCLUDED."status"
      WHERE "MonitorLease"."owner" = EXCLUDED."owner" OR "MonitorLease"."expiresAt" < now()
      RETURNING "owner"`;
    return rows.length === 1;
  }

  /** Gives the lease up at once, so another replica need not wait for it to lapse. */
  async release(name: string): Promise<void> {
    await this.prisma.$executeRaw`DELETE FROM "MonitorLease" WHERE "name" = ${name} AND "owner" = ${this.instanceId}`;
  }

  /** Forgets leases of work that no longer exists (a removed cluster), whoever held them. */
  async forget(names: string[]): Promise<void> {
    if (names.length) await this.prisma.monitorLease.deleteMany({ where: { name: { in: names } } });
  }

  /** Deletes the leases of clusters that no longer exist (removed while their owner was down). */
  async forgetOrphans(): Promise<void> {
    await this.prisma.$executeRaw`
      DELETE FROM "MonitorLease" l WHERE l."name" LIKE 'cluster:%'
        AND NOT EXISTS (SELECT 1 FROM "Cluster" c WHERE 'cluster:' || c."id"::text = l."name")`;
  }

  async list(): Promise<(LeaseRow & { live: boolean })[]> {
    return this.prisma.$queryRaw<(LeaseRow & { live: boolean })[]>`
      SELECT "name", "owner", "acquiredAt", "renewedAt", "expiresAt", "status", "expiresAt" > now() AS "live" FROM "MonitorLease" ORDER BY "name"`;
  }

  /**
   * Runs `work` in a transaction that commits only while this replica holds the lease. The lease
   * row is share-locked, so another replica cannot take it over until the transaction ends: a
   * replica that stalled past its lease cannot write after its successor started.
   */
  async fenced<T>(name: string, work: (tx: Tx) => Promise<T>): Promise<T> {
    return this.prisma.$transaction(async (tx) => {
      const held = await tx.$queryRaw<unknown[]>`
        SELECT 1 FROM "MonitorLease" WHERE "name" = ${name} AND "owner" = ${this.instanceId} AND "expiresAt" > now() FOR SHARE`;
      if (held.length === 0) throw new LeaseLostError(name);
      return work(tx);
    });
  }
}

export class LeaseLostError extends Error {
  constructor(readonly lease: string) {
    super(`lease "${lease}" is no longer held by this replica`);
    this.name = 'LeaseLostError';
  }
}

export const clusterLease = (clusterId: string) => `cluster:${clusterId}`;
export const ROLLUP_LEASE = 'metrics-rollup';
