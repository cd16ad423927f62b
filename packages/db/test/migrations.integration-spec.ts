import { afterAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import { createScratchDatabase, diffMigrations, openDatabase } from '@berth/db';

describe('migrations', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const c of cleanups) await c();
  });

  it('agree with prisma/schema.prisma (a schema change without its migration fails here)', async () => {
    const sql = await diffMigrations(new PrismaPGlite(await PGlite.create()));
    expect(sql).toBe('');
  }, 120_000);

  it('apply to a fresh Postgres, are a no-op the second time, and give a working client', async () => {
    const scratch = await createScratchDatabase(process.env.DATABASE_URL!, 'berth_migrations');
    cleanups.push(scratch.drop);
    const first = await openDatabase({ kind: 'postgres', url: scratch.url });
    expect(first.applied.length).toBeGreaterThan(0);
    await first.prisma.cluster.create({ data: { name: 'c1', kind: 'swarm', endpoint: 'unix:///x', credentials: new Uint8Array([1, 2, 3]), keyId: 'k' } });
    await first.close();
    const second = await openDatabase({ kind: 'postgres', url: scratch.url });
    expect(second.applied).toEqual([]);
    const rows = await second.prisma.$queryRaw<{ migration_name: string }[]>`SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL`;
    expect(rows.map((r) => r.migration_name)).toEqual(first.applied);
    expect((await second.prisma.cluster.findUniqueOrThrow({ where: { name: 'c1' } })).credentials).toEqual(new Uint8Array([1, 2, 3]));
    await second.close();
  }, 120_000);

  it('apply to PGlite on disk, and the data survives a reopen', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'berth-pglite-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const first = await openDatabase({ kind: 'pglite', dataDir: path.join(dir, 'pgdata') });
    expect(first.applied.length).toBeGreaterThan(0);
    await first.prisma.auditEntry.create({ data: { actor: 'test', action: 'probe', result: 'ok', details: { nested: [1, { a: true }] } } });
    await first.close();
    const second = await openDatabase({ kind: 'pglite', dataDir: path.join(dir, 'pgdata') });
    expect(second.applied).toEqual([]);
    expect((await second.prisma.auditEntry.findFirstOrThrow()).details).toEqual({ nested: [1, { a: true }] });
    await second.close();
  }, 120_000);
});
