import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { setTimeout as sleep } from 'node:timers/promises';
import { ADMIN_TOKEN, type RunningGateway, startGatewayWithCluster } from './harness.js';
import { readSse } from './sse.js';

/**
 * The whole lifecycle through HTTP and GraphQL, on each orchestrator, recorded in a real Postgres:
 * Compose deploy, scale, a rolling update read from the progress stream, a failed rollout rolled
 * back, an explicit rollback to revision 1, a job, and the history read back in one query.
 */
const backends = [
  { kind: 'swarm' as const, enabled: process.env.BERTH_SKIP_SWARM !== '1' },
  { kind: 'kubernetes' as const, enabled: process.env.BERTH_SKIP_KUBERNETES !== '1' && !!process.env.BERTH_KUBECONFIG },
];
for (const b of backends)
  if (!b.enabled) console.warn(`\n*** lifecycle tests on ${b.kind} are SKIPPED (BERTH_SKIP_${b.kind === 'swarm' ? 'SWARM' : 'KUBERNETES'}=1) ***\n`);

const TIMEOUT = 240_000;

describe.each(backends.filter((b) => b.enabled))('app lifecycle on $kind', ({ kind }) => {
  let gw: RunningGateway;
  const app = `shop-${kind.slice(0, 4)}-${Date.now().toString(36)}`;
  const base = `/v1/clusters/c1/apps`;
  const compose = `
name: ${app}
services:
  web:
    image: berth-test/http:1
    ports: ["80"]
    deploy:
      replicas: 2
      update_config: { parallelism: 2, delay: 2s, order: stop-first, monitor: 2s }
  cache:
    image: berth-test/busybox:1
    container_name: cache
`;

  beforeAll(async () => {
    gw = await startGatewayWithCluster(kind, 'berth_lifecycle');
  }, 60_000);

  afterAll(async () => {
    await gw?.call('DELETE', `${base}/${app}?volumes=true&wait=true`).catch(() => undefined);
    await gw?.close();
  });

  const images = async () => {
    const res = await gw.call('GET', `${base}/${app}/services/web`);
    return res.body.endpoints.filter((e: { ready: boolean }) => e.ready).map((e: { image: string }) => e.image);
  };

  it(
    'deploys a two-service app from a Compose file, and a second apply changes nothing',
    async () => {
      const res = await gw.call('POST', `${base}?wait=true`, compose);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ changed: true, revision: 1, operation: { kind: 'apply', status: 'succeeded', toRevision: 1 } });
      expect(res.body.warnings).toEqual([expect.objectContaining({ path: 'services.cache.container_name' })]);
      const again = await gw.call('POST', `${base}?wait=true`, compose);
      expect(again.body).toMatchObject({ changed: false, revision: 1 });
      expect(again.body.operation).toBeUndefined();
      const state = await gw.call('GET', `${base}/${app}`);
      expect(state.body.services).toEqual([
        expect.objectContaining({ service: 'cache', inSync: true }),
        expect.objectContaining({ service: 'web', inSync: true, desired: { image: 'berth-test/http:1', replicas: 2, mode: 'replicated' } }),
      ]);
      const discovery = await gw.call('GET', `${base}/${app}/services/web`);
      expect(discovery.body.dnsName).toContain('web');
      expect(discovery.body.ports).toEqual([expect.objectContaining({ target: 80 })]);
    },
    TIMEOUT,
  );

  it(
    'scales web to 3 once, however often the call is retried with the same Idempotency-Key',
    async () => {
      const headers = { 'idempotency-key': `scale-${app}` };
      const first = await gw.call('POST', `${base}/${app}/services/web/scale?wait=true`, { replicas: 3 }, headers);
      const retry = await gw.call('POST', `${base}/${app}/services/web/scale?wait=true`, { replicas: 3 }, headers);
      expect(first.body.operation).toMatchObject({ kind: 'scale', status: 'succeeded', fromRevision: 1, toRevision: 2 });
      expect(retry.body.operation.id).toBe(first.body.operation.id);
      const reused = await gw.call('POST', `${base}/${app}/services/web/scale`, { replicas: 5 }, headers);
      expect(reused.status).toBe(409);
      expect(await images()).toHaveLength(3);
      const history = await gw.call('GET', `/v1/operations?cluster=c1&app=${app}&kind=scale`);
      expect(history.body.items).toHaveLength(1);
    },
    TIMEOUT,
  );

  it(
    'rolls web to v2 with parallelism 2 and a delay, streaming progress; a concurrent update gets 409',
    async () => {
      const started = await gw.call('PATCH', `${base}/${app}/services/web`, { image: 'berth-test/http:2', expectedRevision: 2 });
      expect(started.status).toBe(202);
      const opId = started.body.operation.id;
      const concurrent = await gw.call('PATCH', `${base}/${app}/services/web`, { env: { X: '1' } });
      expect(concurrent.status).toBe(409);
      expect(concurrent.body.error.message).toContain(opId);
      expect(concurrent.body.error.operationId).toBe(opId);
      const events = await readSse(`${gw.url}/v1/operations/${opId}/events`, ADMIN_TOKEN, (e) => e.event === 'end');
      expect(events.at(-1)).toEqual({ event: 'end', data: { status: 'succeeded' } });
      const progress = events.filter((e) => e.event === 'progress' && e.data.service === 'web').map((e) => e.data);
      expect(progress.some((p) => p.batchesTotal === 2 && p.batchesDone === 1)).toBe(true);
      expect(progress.at(-1)).toMatchObject({ phase: 'completed', replicasUpdated: 3, replicasTotal: 3 });
      expect(await images()).toEqual(['berth-test/http:2', 'berth-test/http:2', 'berth-test/http:2']);
    },
    TIMEOUT,
  );

  it('refuses a stale update (the app moved on since the revision the caller saw) unless forced', async () => {
    const stale = await gw.call('PATCH', `${base}/${app}/services/web`, { env: { X: '1' }, expectedRevision: 1 });
    expect(stale.status).toBe(409);
    expect(stale.body.error).toMatchObject({ code: 'CONFLICT', currentRevision: 3 });
  });

  it(
    'rolls a failing image back by itself (failureAction rollback) and records why and what was restored',
    async () => {
      const res = await gw.call('PATCH', `${base}/${app}/services/web?wait=true`, {
        image: 'berth-test/unhealthy:1',
        update: { parallelism: 1, delay: 0, failureAction: 'rollback', monitor: '4s' },
      });
      expect(res.body.operation).toMatchObject({
        kind: 'update',
        status: 'rolled_back',
        errorCode: 'ROLLED_BACK',
        fromRevision: 3,
        toRevision: 4,
        result: { restoredRevision: 3 },
      });
      expect(res.body.operation.error).toMatch(/web: /);
      const appState = await gw.call('GET', `${base}/${app}`);
      expect(appState.body.currentRevision).toBe(3);
      const failed = await gw.call('GET', `/v1/operations?cluster=c1&app=${app}&status=rolled_back`);
      expect(failed.body.items.map((o: { id: string }) => o.id)).toEqual([res.body.operation.id]);
      for (let i = 0; i < 60 && (await images()).some((img: string) => img !== 'berth-test/http:2'); i++) await sleep(1000);
      expect(await images()).toEqual(['berth-test/http:2', 'berth-test/http:2', 'berth-test/http:2']);
    },
    TIMEOUT,
  );

  it(
    'rolls the app back to revision 1 explicitly, as a new revision',
    async () => {
      const res = await gw.call('POST', `${base}/${app}/rollback?wait=true`, { revision: 1 });
      expect(res.body.operation).toMatchObject({ kind: 'rollback', status: 'succeeded', fromRevision: 3, toRevision: 5 });
      for (let i = 0; i < 60 && (await images()).length !== 2; i++) await sleep(1000);
      expect(await images()).toEqual(['berth-test/http:1', 'berth-test/http:1']);
      const revisions = await gw.call('GET', `${base}/${app}/revisions`);
      expect(revisions.body.items.map((r: { number: number; source: string }) => `${r.number}:${r.source}`)).toEqual([
        '5:rollback',
        '4:update',
        '3:update',
        '2:scale',
        '1:compose',
      ]);
      const diff = await gw.call('GET', `${base}/${app}/revisions/diff?from=3&to=5`);
      expect(diff.body.changes.map((c: { summary: string }) => c.summary)).toEqual(
        expect.arrayContaining(['services.web.image: "berth-test/http:2" -> "berth-test/http:1"', 'services.web.replicas: 3 -> 2']),
      );
    },
    TIMEOUT,
  );

  it(
    'runs a job to completion and keeps the run',
    async () => {
      const res = await gw.call('POST', '/v1/clusters/c1/jobs?wait=true', { name: 'migrate', app, image: 'berth-test/job:ok', completions: 1 });
      expect(res.body.operation).toMatchObject({ kind: 'job', status: 'succeeded' });
      expect(res.body.job).toMatchObject({ name: 'migrate', status: 'succeeded', succeeded: 1 });
      const run = await gw.call('GET', `/v1/clusters/c1/jobs/${res.body.job.id}`);
      expect(run.body.durationMs).toBeGreaterThan(0);
      if (kind === 'swarm') expect(run.body.runs).toEqual([expect.objectContaining({ state: 'succeeded', exitCode: 0 })]);
    },
    TIMEOUT,
  );

  it('reads the whole history of the app back over GraphQL in one query', async () => {
    const { data, errors } = await gw.graphql(`{
      app(cluster: "c1", name: "${app}") {
        name currentRevision
        revisions { items { number source author message } nextCursor }
        operations { items { kind status service fromRevision toRevision errorCode error requester progress { phase service batchesDone batchesTotal } } }
        older: revisions(first: 2, after: "4") { items { number } nextCursor }
      }
    }`);
    expect(errors).toBeUndefined();
    expect(data.app.currentRevision).toBe(5);
    expect(data.app.revisions.items.map((r: { number: number }) => r.number)).toEqual([5, 4, 3, 2, 1]);
    expect(data.app.revisions.nextCursor).toBeNull();
    // the next page after revision 4
    expect(data.app.older).toEqual({ items: [{ number: 3 }, { number: 2 }], nextCursor: '2' });
    const ops = data.app.operations.items.map((o: { kind: string; status: string }) => `${o.kind}:${o.status}`);
    expect(ops).toEqual(['ROLLBACK:SUCCEEDED', 'UPDATE:ROLLED_BACK', 'UPDATE:SUCCEEDED', 'SCALE:SUCCEEDED', 'APPLY:SUCCEEDED']);
    const rolledBack = data.app.operations.items[1];
    expect(rolledBack).toMatchObject({ service: 'web', fromRevision: 3, toRevision: 4, errorCode: 'ROLLED_BACK', requester: 'token:bootstrap-admin' });
    expect(rolledBack.progress.at(-1).phase).toBe('finished');
  });
});
