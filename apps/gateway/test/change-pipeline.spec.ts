import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { setTimeout as sleep } from 'node:timers/promises';
import { DriverError, DriverErrorCode } from '@berth/driver';
import { type MemoryGateway, startMemoryGateway } from './memory-gateway.js';
import { ChangeStore } from '../src/changes/change.store.js';

/**
 * The change pipeline on the real gateway and database (PGlite in memory) over an in-memory
 * orchestrator: revisions and diffs, idempotent replay, the 409s, partial patches, rollback to any
 * revision, failed driver calls and re-attachment after a restart. Seconds, not minutes; the same
 * paths run against Swarm and Kubernetes in the integration tests.
 */
const APPS = '/v1/clusters/c1/apps';

const spec = (app: string, image = 'web:1', extra: Record<string, unknown> = {}) => ({
  name: app,
  services: { web: { image, replicas: 2, update: { parallelism: 1, monitor: '1s' }, ...extra } },
});

async function waitForOperation(gw: MemoryGateway, id: string, timeoutMs = 15_000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const op = (await gw.call('GET', `/v1/operations/${id}`)).body;
    if (!['pending', 'running'].includes(op.status) || Date.now() > deadline) return op;
    await sleep(50);
  }
}

describe('the change pipeline (in-memory orchestrator)', () => {
  let gw: MemoryGateway;

  beforeAll(async () => {
    gw = await startMemoryGateway();
  }, 60_000);
  afterAll(async () => {
    await gw?.close();
  });

  it('records a revision per change and diffs any two of them field by field', async () => {
    const first = await gw.call('POST', `${APPS}?wait=true`, spec('rev'));
    expect(first.body).toMatchObject({ changed: true, revision: 1, operation: { kind: 'apply', status: 'succeeded' } });
    const same = await gw.call('POST', `${APPS}?wait=true`, spec('rev'));
    expect(same.body).toMatchObject({ changed: false, revision: 1 });
    expect(same.body.operation).toBeUndefined();
    const second = await gw.call('PATCH', `${APPS}/rev/services/web?wait=true`, { image: 'web:2' });
    expect(second.body).toMatchObject({ revision: 2, operation: { kind: 'update', status: 'succeeded', fromRevision: 1, toRevision: 2 } });
    const diff = await gw.call('GET', `${APPS}/rev/revisions/diff?from=1&to=2`);
    expect(diff.body.changes).toEqual([expect.objectContaining({ path: 'services.web.image', from: 'web:1', to: 'web:2' })]);
    const revisions = await gw.call('GET', `${APPS}/rev/revisions`);
    expect(revisions.body.items.map((r: { number: number; source: string }) => [r.number, r.source])).toEqual([
      [2, 'update'],
      [1, 'api'],
    ]);
    expect(gw.cluster.service('rev', 'web')!.spec.image).toBe('web:2');
  });

  it('replays a retried request with the same Idempotency-Key instead of changing twice', async () => {
    await gw.call('POST', `${APPS}?wait=true`, spec('idem'));
    const headers = { 'idempotency-key': 'build-41' };
    const a = await gw.call('POST', `${APPS}/idem/services/web/scale?wait=true`, { replicas: 3 }, headers);
    const b = await gw.call('POST', `${APPS}/idem/services/web/scale?wait=true`, { replicas: 3 }, headers);
    expect(b.body.operation.id).toBe(a.body.operation.id);
    expect((await gw.call('GET', `${APPS}/idem/revisions`)).body.items).toHaveLength(2);
    const other = await gw.call('POST', `${APPS}/idem/services/web/scale`, { replicas: 4 }, headers);
    expect(other.status).toBe(409);
    expect(other.body.error.message).toMatch(/already used for a different request/);
    expect(gw.cluster.desiredReplicas(gw.cluster.service('idem', 'web')!)).toBe(3);
  });

  it('refuses a malformed idempotency key the same way on REST and GraphQL, changing nothing', async () => {
    await gw.call('POST', `${APPS}?wait=true`, spec('badkey'));
    const rest = await gw.call('POST', `${APPS}/badkey/services/web/scale`, { replicas: 3 }, { 'idempotency-key': 'has spaces' });
    expect(rest.status).toBe(400);
    expect(rest.body.error.message).toMatch(/Idempotency-Key must be 1-128 characters/);
    const gql = await gw.graphql(
      `mutation { scaleService(cluster: "c1", app: "badkey", service: "web", replicas: 3, idempotencyKey: "has spaces") { revision } }`,
    );
    expect(gql.errors?.[0]).toMatchObject({ message: expect.stringMatching(/Idempotency-Key must be 1-128 characters/), extensions: { code: 'INVALID' } });
    const tooLong = await gw.graphql(
      `mutation($k: String) { scaleService(cluster: "c1", app: "badkey", service: "web", replicas: 3, idempotencyKey: $k) { revision } }`,
      {
        k: 'x'.repeat(129),
      },
    );
    expect(tooLong.errors?.[0]?.extensions?.code).toBe('INVALID');
    expect(gw.cluster.desiredReplicas(gw.cluster.service('badkey', 'web')!)).toBe(2);
    expect((await gw.call('GET', `${APPS}/badkey/revisions`)).body.items).toHaveLength(1);
  });

  it('refuses a second change while one runs, naming the running operation, and a change based on a stale revision', async () => {
    await gw.call('POST', `${APPS}?wait=true`, spec('busy'));
    gw.cluster.pause();
    try {
      const running = await gw.call('PATCH', `${APPS}/busy/services/web`, { image: 'web:2' });
      expect(running.status).toBe(202);
      const second = await gw.call('PATCH', `${APPS}/busy/services/web`, { image: 'web:3' });
      expect(second.status).toBe(409);
      expect(second.body.error.message).toContain(running.body.operation.id);
    } finally {
      gw.cluster.resume();
    }
    const stale = await gw.call('PATCH', `${APPS}/busy/services/web?wait=true`, { image: 'web:4', expectedRevision: 1 });
    expect(stale.status).toBe(409);
    expect(stale.body.error.message).toMatch(/is at revision 2, not 1/);
    expect(gw.cluster.service('busy', 'web')!.spec.image).toBe('web:2');
  });

  it('a patch of one update-policy field keeps the others, on REST and on GraphQL', async () => {
    const policy = { parallelism: 1, delay: '10s', order: 'start-first', failureAction: 'rollback', monitor: '3s', maxFailureRatio: 0.2 };
    await gw.call('POST', `${APPS}?wait=true`, spec('policy', 'web:1', { update: policy }));
    await gw.call('PATCH', `${APPS}/policy/services/web?wait=true`, { update: { parallelism: 2 } });
    const expected = { parallelism: 2, delay: 10_000, order: 'start-first', failureAction: 'rollback', monitor: 3000, maxFailureRatio: 0.2 };
    expect(gw.cluster.service('policy', 'web')!.spec.update).toEqual(expected);
    const res = await gw.graphql(
      `mutation { updateService(cluster: "c1", app: "policy", service: "web", patch: { update: { order: STOP_FIRST } }, wait: true) { revision } }`,
    );
    expect(res.errors).toBeUndefined();
    expect(gw.cluster.service('policy', 'web')!.spec.update).toEqual({ ...expected, order: 'stop-first' });
    expect((await gw.call('GET', `${APPS}/policy`)).body.spec.services.web.update).toEqual({ ...expected, order: 'stop-first' });
  });

  it('rolls an app back to any earlier revision, as a new revision', async () => {
    await gw.call('POST', `${APPS}?wait=true`, spec('back'));
    await gw.call('PATCH', `${APPS}/back/services/web?wait=true`, { image: 'web:2' });
    await gw.call('PATCH', `${APPS}/back/services/web?wait=true`, { image: 'web:3' });
    const res = await gw.call('POST', `${APPS}/back/rollback?wait=true`, { revision: 1 });
    expect(res.body).toMatchObject({ revision: 4, operation: { kind: 'rollback', status: 'succeeded', fromRevision: 3, toRevision: 4 } });
    expect(gw.cluster.service('back', 'web')!.spec.image).toBe('web:1');
    const service = await gw.call('POST', `${APPS}/back/services/web/rollback?wait=true`, { revision: 2 });
    expect(service.body.operation).toMatchObject({ status: 'succeeded', toRevision: 5 });
    expect(gw.cluster.service('back', 'web')!.spec.image).toBe('web:2');
    const revisions = (await gw.call('GET', `${APPS}/back/revisions`)).body.items;
    expect(revisions.map((r: { source: string }) => r.source)).toEqual(['rollback', 'rollback', 'update', 'update', 'api']);
  });

  it('a failing rollout rolls back by itself and closes as rolled_back with its outcome code', async () => {
    await gw.call('POST', `${APPS}?wait=true`, spec('failing', 'web:1', { update: { parallelism: 1, failureAction: 'rollback', monitor: '1s' } }));
    const res = await gw.call('PATCH', `${APPS}/failing/services/web?wait=true`, { image: 'web:unhealthy' });
    expect(res.body.operation).toMatchObject({ status: 'rolled_back', errorCode: 'ROLLED_BACK', result: { restoredRevision: 1 } });
    expect(res.body.operation.error).toBeTruthy();
    const gql = await gw.graphql(`{ operation(id: "${res.body.operation.id}") { status errorCode } }`);
    expect(gql.data.operation).toEqual({ status: 'ROLLED_BACK', errorCode: 'ROLLED_BACK' });
    expect((await gw.call('GET', `${APPS}/failing`)).body.currentRevision).toBe(1);
    expect(gw.cluster.service('failing', 'web')!.spec.image).toBe('web:1');
  });

  it('a failed driver call leaves a failed operation with the reason, and the app as it was', async () => {
    await gw.call('POST', `${APPS}?wait=true`, spec('refused'));
    gw.cluster.failNext('updateService', new DriverError(DriverErrorCode.Invalid, 'the engine refused the spec: image reference is invalid'));
    const res = await gw.call('PATCH', `${APPS}/refused/services/web`, { image: 'web:2' });
    expect(res.status).toBe(400);
    const op = (await gw.call('GET', `/v1/operations/${res.body.error.operationId}`)).body;
    expect(op).toMatchObject({ status: 'failed', errorCode: 'INVALID', error: expect.stringContaining('image reference is invalid') });
    expect(gw.cluster.service('refused', 'web')!.spec.image).toBe('web:1');
  });

  it('a revision that cannot be written closes the operation as failed with the reason, and the next change goes through', async () => {
    await gw.call('POST', `${APPS}?wait=true`, spec('norev'));
    const store = gw.app.get(ChangeStore);
    const write = jest.spyOn(store, 'createRevision').mockRejectedValueOnce(new Error('could not extend file: No space left on device'));
    try {
      const res = await gw.call('PATCH', `${APPS}/norev/services/web`, { image: 'web:2' });
      expect(res.status).toBe(500);
      const ops = (await gw.call('GET', `/v1/operations?app=norev`)).body.items as { kind: string; status: string }[];
      expect(ops[0]).toMatchObject({ kind: 'update', status: 'failed' });
    } finally {
      write.mockRestore();
    }
    expect(gw.cluster.service('norev', 'web')!.spec.image).toBe('web:1');
    const again = await gw.call('PATCH', `${APPS}/norev/services/web?wait=true`, { image: 'web:2' });
    expect(again.body).toMatchObject({ revision: 2, operation: { status: 'succeeded' } });
  });

  it('a cluster that stops answering keeps the operation open with the reason, and it closes once back', async () => {
    await gw.call('POST', `${APPS}?wait=true`, spec('flaky'));
    gw.cluster.pause();
    const res = await gw.call('PATCH', `${APPS}/flaky/services/web`, { image: 'web:2' });
    gw.cluster.setReachable(false);
    gw.cluster.resume();
    await sleep(500);
    const open = (await gw.call('GET', `/v1/operations/${res.body.operation.id}`)).body;
    expect(open.status).toBe('running');
    expect(open.progress.map((p: { message?: string }) => p.message).join('\n')).toMatch(/cluster unreachable/);
    gw.cluster.setReachable(true);
    expect((await waitForOperation(gw, res.body.operation.id)).status).toBe('succeeded');
  }, 30_000);
});

describe('re-attachment after a restart', () => {
  it('a gateway that restarts mid-rollout follows the operation to its end', async () => {
    let gw = await startMemoryGateway({ persistent: true });
    try {
      await gw.call('POST', `${APPS}?wait=true`, spec('again'));
      gw.cluster.pause();
      const res = await gw.call('PATCH', `${APPS}/again/services/web`, { image: 'web:2' });
      expect(res.status).toBe(202);
      gw = await gw.restart();
      gw.cluster.resume();
      const op = await waitForOperation(gw, res.body.operation.id);
      expect(op.status).toBe('succeeded');
      expect(op.progress.map((p: { phase: string }) => p.phase)).toContain('reattached');
      expect(op.progress.filter((p: { phase: string }) => p.phase === 'finished')).toHaveLength(1);
      expect(gw.cluster.service('again', 'web')!.spec.image).toBe('web:2');
    } finally {
      await gw.close();
    }
  }, 60_000);
});
