import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import type { SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import { PrismaClient } from './generated/prisma/client.js';
import { applyMigrations, migrationNames } from './migrate.js';

async function pendingMigrations(prisma: PrismaClient): Promise<string[]> {
  const wanted = await migrationNames();
  try {
    const rows = await prisma.$queryRaw<{ migration_name: string }[]>`
      SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL`;
    const done = new Set(rows.map((r) => r.migration_name));
    return wanted.filter((m) => !done.has(m));
  } catch {
    return wanted; // no migrations table yet: a new database
  }
}

export type DatabaseTarget =
  /** A Postgres server. */
  | { kind: 'postgres'; url: string }
  /** Embedded PGlite in a data folder, or in memory when `dataDir` is omitted. */
  | { kind: 'pglite'; dataDir?: string };

export interface Database {
  prisma: PrismaClient;
  target: DatabaseTarget;
  /** Names of the migrations this open applied. */
  applied: string[];
  /** Connections of the Postgres pool now (undefined on PGlite, which has one in-process connection). */
  poolStats(): PoolStats | undefined;
  close(): Promise<void>;
}

export interface PoolStats {
  /** Connections open, idle or lent out. */
  total: number;
  idle: number;
  /** Queries waiting for a connection because all `max` are lent out. */
  waiting: number;
  max: number;
}

/** A target from the environment: Postgres with DATABASE_URL, else PGlite under `dataDir`. */
export function targetFromEnv(databaseUrl: string | undefined, dataDir: string): DatabaseTarget {
  return databaseUrl ? { kind: 'postgres', url: databaseUrl } : { kind: 'pglite', dataDir: path.join(dataDir, 'pgdata') };
}

/** Opens the database, applies pending migrations, and returns a ready Prisma client. */
export async function openDatabase(target: DatabaseTarget, options: { migrate?: boolean } = {}): Promise<Database> {
  let factory: SqlMigrationAwareDriverAdapterFactory;
  let closeExtra = async () => {};
  let pool: pg.Pool | undefined;
  if (target.kind === 'postgres') {
    // The pool is ours (not the adapter's) so its use can be reported; the adapter leaves it open on
    // dispose (the migration engine disposes its own adapter on the same pool) and close() ends it.
    const own = new pg.Pool({ connectionString: target.url });
    pool = own;
    factory = new PrismaPg(own);
    closeExtra = () => own.end();
  } else {
    if (target.dataDir) await mkdir(target.dataDir, { recursive: true });
    const pglite = await PGlite.create(target.dataDir ?? 'memory://');
    factory = new PrismaPGlite(pglite);
    closeExtra = () => pglite.close();
  }
  const prisma = new PrismaClient({ adapter: factory });
  await prisma.$connect();
  // The WASM schema engine costs seconds to load: only start it when a migration is pending.
  const applied = options.migrate === false || (await pendingMigrations(prisma)).length === 0 ? [] : await applyMigrations(factory);
  return {
    prisma,
    target,
    applied,
    poolStats: () => (pool ? { total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount, max: pool.options.max ?? 10 } : undefined),
    async close() {
      await prisma.$disconnect();
      await closeExtra();
    },
  };
}
