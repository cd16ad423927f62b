import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AppSpec } from '@berth/model';
import { toGraphqlInput } from '../src/graphql/zod-graphql.js';
import { type MemoryGateway, startMemoryGateway } from './memory-gateway.js';

const APPLY = 'mutation($spec: AppSpecInput) { applyApp(cluster: "c1", spec: $spec, wait: true) { changed revision } }';

describe('GraphQL input types made from the zod schemas REST validates with', () => {
  let gw: MemoryGateway;
  beforeAll(async () => {
    gw = await startMemoryGateway();
  }, 120_000);
  afterAll(async () => {
    await gw?.close();
  });

  it('applies a typed AppSpec and stores what REST stores for the same JSON', async () => {
    const spec = {
      name: 'typed',
      services: {
        web: {
          image: 'web:1',
          replicas: 2,
          env: { MODE: 'blue' },
          ports: [{ target: 80, published: 8080, mode: 'host' }],
          volumes: [{ type: 'named', source: 'data', target: '/data' }],
          update: { order: 'start-first', delay: '2s' },
        },
        worker: { image: 'worker:1', mode: 'global' },
      },
      volumes: { data: { size: '2Gi' } },
    };
    const res = await gw.graphql(APPLY, { spec: toGraphqlInput(AppSpec, spec) });
    expect(res.errors).toBeUndefined();
    expect(res.data.applyApp).toEqual({ changed: true, revision: 1 });
    const stored = (await gw.call('GET', '/v1/clusters/c1/apps/typed')).body.spec;
    expect(stored).toEqual(AppSpec.parse(spec));
    // the same JSON through REST is no change
    expect((await gw.call('POST', '/v1/clusters/c1/apps?wait=true', spec)).body.changed).toBe(false);
  });

  it('refuses what zod refuses with the same INVALID error and details as REST', async () => {
    const bad = { name: 'Bad Name', services: { web: { image: 'web:1', replicas: -1 } } };
    const rest = await gw.call('POST', '/v1/clusters/c1/apps', bad);
    expect(rest.status).toBe(400);
    const gql = await gw.graphql(APPLY, { spec: toGraphqlInput(AppSpec, bad) });
    expect(gql.errors?.[0]?.message).toBe(rest.body.error.message);
    expect(gql.errors?.[0]?.extensions).toMatchObject({ code: 'INVALID', details: rest.body.error.details });
  });

  it('refuses a field the input type does not have, naming it, before anything runs', async () => {
    const gql = await gw.graphql(APPLY, { spec: { name: 'x', services: [{ name: 'web', image: 'web:1', replica: 2 }] } });
    expect(gql.errors?.[0]?.extensions?.code).toBe('INVALID');
    expect(gql.errors?.[0]?.message).toMatch(/replica/);
    expect((await gw.call('GET', '/v1/clusters/c1/apps/x')).status).toBe(404);
  });
});
