import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type RunningGateway, startGatewayWithCluster } from './harness.js';
import { AppSpec } from '@berth/model';
import { toGraphqlInput } from '../src/graphql/zod-graphql.js';

const swarm = process.env.BERTH_SKIP_SWARM !== '1';
if (!swarm) console.warn('\n*** app-grant tests SKIPPED (BERTH_SKIP_SWARM=1) ***\n');

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/**
 * A token narrowed to one app operates that app through the calls that name it in the body (apply,
 * plan, a job, a volume), over REST and GraphQL, and nothing else; each refusal is audited.
 */
(swarm ? describe : describe.skip)('operator grant narrowed to one app', () => {
  let gw: RunningGateway;
  let token = '';
  const mine = `mine-${Date.now().toString(36)}`;
  const other = `other-${Date.now().toString(36)}`;
  const spec = (name: string) => ({ name, services: { web: { image: 'berth-test/busybox:1' } } });

  beforeAll(async () => {
    gw = await startGatewayWithCluster('swarm', 'berth_appgrants');
    const res = await gw.call('POST', '/v1/tokens', { name: 'team-mine', grants: [{ role: 'operator', cluster: 'c1', app: mine }] });
    expect(res.status).toBe(201);
    token = res.body.token;
  }, 60_000);

  afterAll(async () => {
    for (const app of [mine, other]) await gw?.call('DELETE', `/v1/clusters/c1/apps/${app}?wait=true`).catch(() => undefined);
    await gw?.call('DELETE', `/v1/clusters/c1/volumes/${mine}/data`).catch(() => undefined);
    await gw?.close();
  });

  it('deploys, plans, runs a job and creates a volume for its own app, over REST and GraphQL', async () => {
    const applied = await gw.call('POST', '/v1/clusters/c1/apps?wait=true', spec(mine), bearer(token));
    expect(applied.status).toBe(200);
    expect(applied.body.operation).toMatchObject({ status: 'succeeded', requester: 'token:team-mine' });
    const compose = `name: ${mine}\nservices:\n  web:\n    image: berth-test/busybox:1\n    deploy: { replicas: 2 }\n`;
    expect((await gw.call('POST', '/v1/clusters/c1/apps/plan', compose, bearer(token))).status).toBe(200);
    const gql = await gw.graphql(
      'mutation($spec: AppSpecInput) { applyApp(cluster: "c1", spec: $spec, wait: true) { changed revision } }',
      { spec: toGraphqlInput(AppSpec, { ...spec(mine), services: { web: { image: 'berth-test/busybox:1', replicas: 2 } } }) },
      bearer(token),
    );
    expect(gql.errors).toBeUndefined();
    expect(gql.data.applyApp).toEqual({ changed: true, revision: 2 });
    const job = await gw.call('POST', '/v1/clusters/c1/jobs?wait=true', { name: 'once', app: mine, image: 'berth-test/job:ok' }, bearer(token));
    expect(job.status).toBe(200);
    const volume = await gw.call('POST', '/v1/clusters/c1/volumes', { app: mine, name: 'data', kind: 'named' }, bearer(token));
    expect(volume.status).toBe(201);
  }, 120_000);

  it('is refused (403, audited) for another app, a job without an app, and a Compose file renamed by ?name=', async () => {
    const refusals = [
      await gw.call('POST', '/v1/clusters/c1/apps', spec(other), bearer(token)),
      await gw.call('POST', '/v1/clusters/c1/jobs', { name: 'once', image: 'berth-test/job:ok' }, bearer(token)),
      await gw.call('POST', '/v1/clusters/c1/volumes', { app: other, name: 'data', kind: 'named' }, bearer(token)),
      await gw.call('POST', `/v1/clusters/c1/apps?name=${other}`, `services:\n  web:\n    image: berth-test/busybox:1\n`, bearer(token)),
    ];
    expect(refusals.map((r) => r.status)).toEqual([403, 403, 403, 403]);
    const gql = await gw.graphql(
      'mutation($spec: AppSpecInput) { applyApp(cluster: "c1", spec: $spec) { changed } }',
      { spec: toGraphqlInput(AppSpec, spec(other)) },
      bearer(token),
    );
    expect(gql.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect((await gw.call('GET', `/v1/clusters/c1/apps/${other}`)).status).toBe(404);
    const audit = await gw.call('GET', '/v1/audit?limit=200');
    const denied = audit.body.items.filter((e: { actor: string; result: string }) => e.actor === 'token:team-mine' && e.result.startsWith('denied'));
    expect(denied.map((e: { target: string }) => e.target)).toEqual(expect.arrayContaining([`c1/${other}`, 'c1']));
    expect(denied.length).toBeGreaterThanOrEqual(5);
  });
});
