import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import parsePrometheus from 'parse-prometheus-text-format';
import { createScratchDatabase, openDatabase, type Database } from '@berth/db';
import { createVolumes, removeVolumes, removeVolumesWithPrefix } from './docker-api.js';
import { ADMIN_TOKEN } from './harness.js';

/**
 * Two gateway processes on one Postgres: each cluster's watcher and collector runs on exactly one of
 * them, and when that process is killed (SIGKILL: no shutdown hook releases anything) the other
 * takes the work over within the lease term, resuming the event stream where the dead one stored it.
 */
const MAIN = path.resolve(import.meta.dirname, '../dist/main.js');
const swarm = process.env.BERTH_SKIP_SWARM !== '1';
if (!swarm) console.warn('\n*** monitoring takeover test SKIPPED (BERTH_SKIP_SWARM=1) ***\n');

const LEASE_TTL_MS = 3000;

interface Gateway {
  name: string;
  child: ChildProcess;
  port: number;
}

(swarm ? describe : describe.skip)('monitoring with two gateway replicas', () => {
  let env: NodeJS.ProcessEnv;
  const gateways: Gateway[] = [];
  let db: Database;
  let dropDb: () => Promise<void> = async () => {};
  const prefix = `tko${Date.now().toString(36)}`;

  const start = async (name: string): Promise<Gateway> => {
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    const child = spawn(process.execPath, [MAIN], {
      env: { ...env, BERTH_PORT: String(port), BERTH_INSTANCE_ID: name, BERTH_DATA_DIR: await mkdtemp(path.join(tmpdir(), `berth-${name}-`)) },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const gw = { name, child, port };
    gateways.push(gw);
    for (let i = 0; i < 240; i++) {
      if (
        await fetch(`http://127.0.0.1:${port}/v1/health`).then(
          (r) => r.ok,
          () => false,
        )
      )
        return gw;
      await sleep(250);
    }
    throw new Error(`gateway ${name} did not start within 60 s`);
  };
  const call = async (gw: Gateway, method: string, p: string, body?: unknown) => {
    const res = await fetch(`http://127.0.0.1:${gw.port}${p}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: res.status, body: (await res.json()) as any };
  };
  /** The clusters whose event watcher runs in this process, from its own /metrics. */
  const watching = async (gw: Gateway): Promise<string[]> => {
    const families = parsePrometheus(await (await fetch(`http://127.0.0.1:${gw.port}/metrics`)).text());
    return (families.find((f) => f.name === 'berth_event_watcher_up')?.metrics ?? [])
      .filter((m) => m.value === '1')
      .map((m) => m.labels!.cluster!)
      .sort();
  };
  const owners = async (gw: Gateway) =>
    Object.fromEntries((await call(gw, 'GET', '/v1/monitoring')).body.clusters.map((c: any) => [c.cluster, c.owner ?? null]));

  beforeAll(async () => {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`pnpm run build\` first (npm run test:all does)`);
    const scratch = await createScratchDatabase(process.env.DATABASE_URL!, 'berth_takeover');
    dropDb = scratch.drop;
    db = await openDatabase({ kind: 'postgres', url: scratch.url }, { migrate: false });
    env = {
      ...process.env,
      DATABASE_URL: scratch.url,
      // both replicas must open the credentials the other sealed
      BERTH_SECRET_KEY: randomBytes(32).toString('base64'),
      BERTH_BOOTSTRAP_TOKEN: ADMIN_TOKEN,
      BERTH_LOCAL_DOCKER: 'false',
      BERTH_LOG_LEVEL: 'warn',
      BERTH_MONITORING_LEASE_TTL: `${LEASE_TTL_MS}ms`,
      BERTH_EVENTS_FLUSH: '100ms',
      BERTH_METRICS_INTERVAL: '5s',
    };
    // the first replica migrates the database; the second then starts on it
    const a = await start('gw-a');
    const socketPath = process.env.BERTH_DOCKER_SOCKET ?? '/var/run/docker.sock';
    for (const name of ['c1', 'c2']) expect((await call(a, 'POST', '/v1/clusters', { name, kind: 'swarm', socketPath })).status).toBe(201);
    await start('gw-b');
  }, 120_000);

  afterAll(async () => {
    for (const gw of gateways) if (gw.child.exitCode === null && gw.child.signalCode === null) gw.child.kill('SIGTERM');
    await Promise.all(
      gateways.map((gw) => (gw.child.exitCode === null && gw.child.signalCode === null ? new Promise((r) => gw.child.once('exit', r)) : undefined)),
    );
    for (const p of [`${prefix}a`, `${prefix}b`]) await removeVolumesWithPrefix(p).catch(() => undefined);
    await db?.close();
    await dropDb();
  }, 30_000);

  it("runs each cluster's watcher on exactly one replica, and moves it within the lease term when that replica is killed", async () => {
    const [a, b] = gateways as [Gateway, Gateway];
    // both replicas agree on one owner per cluster, and only that owner runs the watcher
    let seen: { owners: Record<string, string | null>; a: string[]; b: string[] } | undefined;
    for (let i = 0; i < 40; i++) {
      const [ownersA, ownersB, watchA, watchB] = await Promise.all([owners(a), owners(b), watching(a), watching(b)]);
      seen = { owners: ownersA, a: watchA, b: watchB };
      const settled = ownersA.c1 && ownersA.c2 && JSON.stringify(ownersA) === JSON.stringify(ownersB) && watchA.length + watchB.length === 2;
      if (settled) break;
      await sleep(250);
    }
    expect(seen!.a.length + seen!.b.length).toBe(2);
    expect([...seen!.a, ...seen!.b].sort()).toEqual(['c1', 'c2']);
    for (const cluster of ['c1', 'c2']) {
      const owner = seen!.owners[cluster];
      expect(owner === 'gw-a' ? seen!.a : seen!.b).toContain(cluster);
    }
    // while both run, each engine event is stored once per cluster
    const before = await createVolumes(`${prefix}a`, 5, 20);
    const stored = async (app: string) =>
      db.prisma.clusterEvent.findMany({ where: { app, action: 'create' }, include: { cluster: { select: { name: true } } }, orderBy: { id: 'asc' } });
    for (let i = 0; i < 40 && (await stored(`${prefix}a`)).length < 10; i++) await sleep(250);
    const both = await stored(`${prefix}a`);
    expect(both.filter((e) => e.cluster.name === 'c1').map((e) => e.objectName)).toEqual(before);
    expect(both.filter((e) => e.cluster.name === 'c2').map((e) => e.objectName)).toEqual(before);

    // kill the owner of c1 without letting it release anything, while the engine keeps emitting events
    const victim = seen!.owners.c1 === 'gw-a' ? a : b;
    const survivor = victim === a ? b : a;
    const killedAt = Date.now();
    victim.child.kill('SIGKILL');
    const during = createVolumes(`${prefix}b`, 20, 100);
    let takenOverAt = 0;
    for (let i = 0; i < 100; i++) {
      const view = (await call(survivor, 'GET', '/v1/monitoring')).body;
      const c1 = view.clusters.find((c: any) => c.cluster === 'c1');
      if (c1.owner === survivor.name && c1.events?.state === 'streaming' && (await watching(survivor)).includes('c1')) {
        takenOverAt = Date.now();
        break;
      }
      await sleep(100);
    }
    const takeoverMs = takenOverAt - killedAt;
    console.log(`takeover after SIGKILL of the owner: ${takeoverMs} ms (lease term ${LEASE_TTL_MS} ms, renewed every ${LEASE_TTL_MS / 3} ms)`);
    expect(takenOverAt).toBeGreaterThan(0);
    // the lease lapses at most one term after the last renewal, and the survivor looks every third of a term
    expect(takeoverMs).toBeLessThanOrEqual(LEASE_TTL_MS + LEASE_TTL_MS / 3 + 1500);
    expect((await watching(survivor)).sort()).toEqual(['c1', 'c2']);
    expect((await call(survivor, 'GET', '/v1/monitoring')).body.rollup.owner).toBe(survivor.name);

    // what the engine emitted around the kill is all there, once, for both clusters
    const made = await during;
    for (let i = 0; i < 60 && (await stored(`${prefix}b`)).length < 2 * made.length; i++) await sleep(250);
    const after = await stored(`${prefix}b`);
    for (const cluster of ['c1', 'c2']) expect(after.filter((e) => e.cluster.name === cluster).map((e) => e.objectName)).toEqual(made);
    expect(new Set(after.map((e) => `${e.clusterId}/${e.eventId}`)).size).toBe(after.length);
    await removeVolumes([...before, ...made]);
  }, 90_000);
});
