import { access, mkdir } from 'node:fs/promises';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
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

/**
 * PGlite's Postgres settings. Its default shared_buffers (128 MB) is sized for a server; the
 * gateway's working set is a few MB, and each buffer page touched stays resident.
 */
const PGLITE_START_PARAMS = [...(PGlite.defaultStartParams ?? []), '-c', 'shared_buffers=16MB'];

interface Adapter {
  factory: SqlMigrationAwareDriverAdapterFactory;
  pool?: pg.Pool;
  close(): Promise<void>;
}

/** The driver adapter of a target, with what must be closed after it. */
export async function openAdapter(target: DatabaseTarget): Promise<Adapter> {
  if (target.kind === 'postgres') {
    // The pool is ours (not the adapter's) so its use can be reported; the adapter leaves it open on
    // dispose (the migration engine disposes its own adapter on the same pool) and close() ends it.
    const pool = new pg.Pool({ connectionString: target.url });
    return { factory: new PrismaPg(pool), pool, close: () => pool.end() };
  }
  if (target.dataDir) await mkdir(target.dataDir, { recursive: true });
  const pglite = await PGlite.create(target.dataDir ?? 'memory://', { startParams: PGLITE_START_PARAMS });
  return { factory: new PrismaPGlite(pglite), close: () => pglite.close() };
}

/**
 * Creating a PGlite data folder (initdb) and running Prisma's WASM schema engine each leave hundreds
 * of MB behind (WebAssembly memory that cannot shrink, and malloc arenas the C library keeps): 872 MB
 * resident after a first start against 439 MB after later ones. The built gateway does that work in
 * a child process, whose memory goes back to the system when it exits. From TypeScript sources (the
 * test runner) there is no compiled child to start, and an in-memory PGlite cannot be shared: those
 * migrate in-process.
 */
const PREPARE_CHILD = fileURLToPath(new URL('./prepare.child.js', import.meta.url));
const canUseChild = (target: DatabaseTarget) => import.meta.url.endsWith('.js') && !(target.kind === 'pglite' && !target.dataDir);

function prepareInChild(target: DatabaseTarget): Promise<string[]> {
  const child = fork(PREPARE_CHILD, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: [] });
  child.send(target);
  return new Promise((resolve, reject) => {
    let answer: { applied?: string[]; error?: string } = {};
    child.once('message', (m: typeof answer) => (answer = m));
    child.once('error', reject);
    child.once('exit', (code) =>
      answer.applied ? resolve(answer.applied) : reject(new Error(`preparing the database failed: ${answer.error ?? `exit code ${code}`}`)),
    );
  });
}

/** Opens the database, applies pending migrations, and returns a ready Prisma client. */
export async function openDatabase(target: DatabaseTarget, options: { migrate?: boolean } = {}): Promise<Database> {
  const migrate = options.migrate !== false;
  let applied: string[] = [];
  const isNewFolder = target.kind === 'pglite' && target.dataDir !== undefined && !(await exists(path.join(target.dataDir, 'PG_VERSION')));
  if (migrate && isNewFolder && canUseChild(target)) applied = await prepareInChild(target);
  let adapter = await openAdapter(target);
  let prisma = new PrismaClient({ adapter: adapter.factory });
  await prisma.$connect();
  // The WASM schema engine costs seconds to load: only start it when a migration is pending.
  if (migrate && (await pendingMigrations(prisma)).length > 0) {
    if (!canUseChild(target)) applied = await applyMigrations(adapter.factory);
    else if (target.kind === 'postgres') applied = await prepareInChild(target);
    else {
      // PGlite is single-process: hand the folder to the child and open it again afterwards
      await prisma.$disconnect();
      await adapter.close();
      applied = await prepareInChild(target);
      adapter = await openAdapter(target);
      prisma = new PrismaClient({ adapter: adapter.factory });
      await prisma.$connect();
    }
  }
  const { pool } = adapter;
  return {
    prisma,
    target,
    applied,
    poolStats: () => (pool ? { total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount, max: pool.options.max ?? 10 } : undefined),
    async close() {
      await prisma.$disconnect();
      await adapter.close();
    },
  };
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}
