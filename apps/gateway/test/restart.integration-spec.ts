import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createScratchDatabase } from '@berth/db';
import { ADMIN_TOKEN } from './harness.js';

/**
 * The gateway process is killed (SIGKILL, no shutdown hooks) in the middle of a rolling update and
 * started again: the operation must end with the right status, and no history may be lost or doubled.
 */
const MAIN = path.resolve(import.meta.dirname, '../dist/main.js');
const swarm = process.env.BERTH_SKIP_SWARM !== '1';
if (!swarm) console.warn('\n*** restart test SKIPPED (BERTH_SKIP_SWARM=1) ***\n');

(swarm ? describe : describe.skip)('gateway killed mid-rollout', () => {
  let env: NodeJS.ProcessEnv;
  let child: ChildProcess | undefined;
  let port = 0;
  let dropDb: () => Promise<void> = async () => {};
  const app = `restart-${Date.now().toString(36)}`;

  const start = async () => {
    port = 20_000 + Math.floor(Math.random() * 20_000);
    child = spawn(process.execPath, [MAIN], { env: { ...env, BERTH_PORT: String(port) }, stdio: ['ignore', 'ignore', 'inherit'] });
    for (let i = 0; i < 240; i++) {
      if (
        await fetch(`http://127.0.0.1:${port}/v1/health`).then(
          (r) => r.ok,
          () => false,
        )
      )
        return;
      await sleep(250);
    }
    throw new Error('the gateway did not start within 60 s');
  };
  const call = async (method: string, p: string, body?: unknown) => {
    const res = await fetch(`http://127.0.0.1:${port}${p}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: res.status, body: (await res.json()) as any };
  };

  beforeAll(async () => {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`pnpm run build\` first (npm run test:all does)`);
    const db = await createScratchDatabase(process.env.DATABASE_URL!, 'berth_restart');
    dropDb = db.drop;
    env = {
      ...process.env,
      DATABASE_URL: db.url,
      BERTH_DATA_DIR: await mkdtemp(path.join(tmpdir(), 'berth-restart-')),
      BERTH_LOCAL_DOCKER: 'false',
      BERTH_LOG_LEVEL: 'warn',
      BERTH_BOOTSTRAP_TOKEN: ADMIN_TOKEN,
    };
    await start();
    expect(
      (await call('POST', '/v1/clusters', { name: 'local', kind: 'swarm', socketPath: process.env.BERTH_DOCKER_SOCKET ?? '/var/run/docker.sock' })).status,
    ).toBe(201);
    const applied = await call('POST', '/v1/clusters/local/apps?wait=true', {
      name: app,
      services: { web: { image: 'berth-test/http:1', replicas: 3, update: { parallelism: 1, delay: '3s', monitor: '1s' } } },
    });
    expect(applied.body.operation.status).toBe('succeeded');
  }, 120_000);

  afterAll(async () => {
    if (child && child.exitCode === null) {
      await call('DELETE', `/v1/clusters/local/apps/${app}`).catch(() => undefined);
      child.kill('SIGTERM');
    }
    await dropDb();
  });

  it('re-attaches after a restart and closes the operation once, with nothing lost or doubled', async () => {
    const started = await call('PATCH', `/v1/clusters/local/apps/${app}/services/web`, { image: 'berth-test/http:2' });
    expect(started.status).toBe(202);
    const id = started.body.operation.id;
    // wait for the first batch to be under way, then kill without any chance to clean up
    for (let i = 0; i < 80; i++) {
      const op = await call('GET', `/v1/operations/${id}`);
      if (op.body.progress.some((p: { phase: string }) => p.phase === 'progressing')) break;
      await sleep(250);
    }
    child!.kill('SIGKILL');
    await new Promise((resolve) => child!.once('exit', resolve));

    await start();
    let op: any;
    for (let i = 0; i < 240; i++) {
      op = (await call('GET', `/v1/operations/${id}`)).body;
      if (op.status !== 'running') break;
      await sleep(500);
    }
    expect(op).toMatchObject({ status: 'succeeded', kind: 'update', fromRevision: 1, toRevision: 2 });
    const phases = op.progress.map((p: { phase: string }) => p.phase);
    expect(phases.filter((p: string) => p === 'started')).toHaveLength(1);
    expect(phases).toContain('reattached');
    expect(phases.filter((p: string) => p === 'finished')).toHaveLength(1);
    const revisions = await call('GET', `/v1/clusters/local/apps/${app}/revisions`);
    expect(revisions.body.items.map((r: { number: number }) => r.number)).toEqual([2, 1]);
    const ops = await call('GET', `/v1/operations?app=${app}`);
    expect(ops.body.items.map((o: { kind: string; status: string }) => `${o.kind}:${o.status}`)).toEqual(['update:succeeded', 'apply:succeeded']);
    const web = await call('GET', `/v1/clusters/local/apps/${app}/services/web`);
    expect(web.body.endpoints.map((e: { image: string }) => e.image)).toEqual(['berth-test/http:2', 'berth-test/http:2', 'berth-test/http:2']);
  }, 180_000);
});
