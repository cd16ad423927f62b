import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import type { PrismaClient } from '@berth/db';
import { PRISMA } from '../src/database/database.module.js';
import { ADMIN_TOKEN, type RunningGateway, secretOf, startGateway } from './harness.js';

const swarm = process.env.BERTH_SKIP_SWARM !== '1';
if (!swarm) console.warn('\n*** security tests that need two registered clusters are SKIPPED (BERTH_SKIP_SWARM=1) ***\n');

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** Subscribes over graphql-ws with a token and returns the first result or error. */
function subscribeOnce(
  url: string,
  token: string,
  query: string,
): Promise<{ data?: unknown; errors?: { message: string; extensions?: Record<string, unknown> }[] }> {
  const client = createClient({
    url: url.replace(/^http/, 'ws') + '/graphql',
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${token}` },
    retryAttempts: 0,
  });
  return new Promise((resolve, reject) => {
    const stop = client.subscribe(
      { query },
      {
        next: (value) => {
          stop();
          void client.dispose();
          resolve(value as never);
        },
        error: (e) => {
          void client.dispose();
          if (Array.isArray(e)) resolve({ errors: e as never });
          else reject(e instanceof Error ? e : new Error(JSON.stringify(e)));
        },
        complete: () => undefined,
      },
    );
  });
}

describe('tokens, roles and the audit log', () => {
  let gw: RunningGateway;
  let dir: string;
  const tokens: Record<string, { id: string; token: string }> = {};
  let bOperation = '';

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'berth-security-'));
    gw = await startGateway({ BERTH_DATA_DIR: dir, BERTH_RATE_LIMIT: '120' });
    if (swarm) {
      for (const name of ['a', 'b'])
        expect((await gw.call('POST', '/v1/clusters', { name, kind: 'swarm', socketPath: '/var/run/docker.sock' })).status).toBe(201);
      const vol = await gw.call('POST', '/v1/clusters/b/volumes', { app: 'secret-app', name: 'data', kind: 'named' });
      expect(vol.status).toBe(201);
      bOperation = vol.body.operation.id;
    }
    const make = async (name: string, grants: unknown[], expiresAt?: string) => {
      const res = await gw.call('POST', '/v1/tokens', { name, grants, ...(expiresAt ? { expiresAt } : {}) });
      expect(res.status).toBe(201);
      tokens[name] = { id: res.body.id, token: res.body.token };
    };
    await make('viewer-all', [{ role: 'viewer' }]);
    if (swarm) await make('operator-a', [{ role: 'operator', cluster: 'a' }]);
    await make('short-lived', [{ role: 'viewer' }], new Date(Date.now() + 1500).toISOString());
    await make('to-revoke', [{ role: 'viewer' }]);
  }, 60_000);

  afterAll(async () => {
    if (swarm) await gw?.call('DELETE', '/v1/clusters/b/volumes/secret-app/data').catch(() => undefined);
    await gw?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses calls without a valid token, and shows a token secret only once', async () => {
    expect((await gw.call('GET', '/v1/clusters', undefined, { authorization: '' })).status).toBe(401);
    expect((await gw.call('GET', '/v1/clusters', undefined, bearer('berth_0123456789abcdef0123456789abcdee_nope-nope-nope-nope-nope-nope-nope'))).status).toBe(
      401,
    );
    const gql = await gw.graphql('{ clusters { name } }', undefined, { authorization: '' });
    expect(gql.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect((await gw.call('GET', '/v1/health', undefined, { authorization: '' })).status).toBe(200);
    const listed = await gw.call('GET', '/v1/tokens');
    expect(listed.body.items.map((t: { name: string }) => t.name)).toEqual(expect.arrayContaining(['bootstrap-admin', 'viewer-all', 'to-revoke']));
    expect(JSON.stringify(listed.body)).not.toContain(secretOf(tokens['viewer-all']!.token));
  });

  (swarm ? it : it.skip)('a viewer can read but cannot deploy (403)', async () => {
    const v = tokens['viewer-all']!.token;
    expect((await gw.call('GET', '/v1/clusters/a', undefined, bearer(v))).status).toBe(200);
    const deploy = await gw.call('POST', '/v1/clusters/a/apps', { name: 'nope', services: { web: { image: 'berth-test/http:1' } } }, bearer(v));
    expect(deploy.status).toBe(403);
    expect(deploy.body.error.code).toBe('FORBIDDEN');
    const gql = await gw.graphql('mutation { scaleService(cluster: "a", app: "x", service: "y", replicas: 2) { changed } }', undefined, bearer(v));
    expect(gql.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect((await gw.call('POST', '/v1/tokens', { name: 'x', grants: [{ role: 'admin' }] }, bearer(v))).status).toBe(403);
  });

  (swarm ? it : it.skip)(
    'an operator on cluster a can neither see nor touch cluster b, on any transport',
    async () => {
      const op = tokens['operator-a']!.token;
      const list = await gw.call('GET', '/v1/clusters', undefined, bearer(op));
      expect(list.body.items.map((c: { name: string }) => c.name)).toEqual(['a']);
      expect((await gw.call('GET', '/v1/clusters/b', undefined, bearer(op))).status).toBe(404);
      expect((await gw.call('GET', '/v1/clusters/b/volumes', undefined, bearer(op))).status).toBe(404);
      expect((await gw.call('POST', '/v1/clusters/b/apps', { name: 'x', services: { s: { image: 'berth-test/http:1' } } }, bearer(op))).status).toBe(404);
      expect((await gw.call('POST', '/v1/clusters/b/jobs', { name: 'x', image: 'berth-test/job:ok' }, bearer(op))).status).toBe(404);
      // history and streams of cluster b
      const ops = await gw.call('GET', '/v1/operations', undefined, bearer(op));
      expect(ops.body.items.filter((o: { id: string }) => o.id === bOperation)).toEqual([]);
      expect((await gw.call('GET', `/v1/operations/${bOperation}`, undefined, bearer(op))).status).toBe(404);
      expect((await gw.call('GET', `/v1/operations/${bOperation}/events`, undefined, bearer(op))).status).toBe(404);
      // GraphQL queries and subscriptions
      const gqlList = await gw.graphql('{ clusters { name } }', undefined, bearer(op));
      expect(gqlList.data.clusters).toEqual([{ name: 'a' }]);
      const gqlOne = await gw.graphql('{ cluster(name: "b") { name } }', undefined, bearer(op));
      expect(gqlOne.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
      const gqlOp = await gw.graphql(`{ operation(id: "${bOperation}") { id } }`, undefined, bearer(op));
      expect(gqlOp.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
      const sub = await subscribeOnce(gw.url, op, `subscription { operationProgress(id: "${bOperation}") { phase final } }`);
      expect(sub.errors?.[0]?.message).toMatch(/not found/);
      // while the admin's own subscription on the same operation works
      const adminSub = await subscribeOnce(gw.url, ADMIN_TOKEN, `subscription { operationProgress(id: "${bOperation}") { phase final } }`);
      expect(adminSub.data).toEqual({ operationProgress: { phase: 'finished', final: 'succeeded' } });
      // and on cluster a it operates
      expect((await gw.call('GET', '/v1/clusters/a/apps', undefined, bearer(op))).status).toBe(200);
    },
    60_000,
  );

  it('refuses a revoked token at once, and an expired one', async () => {
    const t = tokens['to-revoke']!;
    expect((await gw.call('GET', '/v1/operations', undefined, bearer(t.token))).status).toBe(200);
    expect((await gw.call('DELETE', `/v1/tokens/${t.id}`)).body.revokedAt).toBeTruthy();
    const after = await gw.call('GET', '/v1/operations', undefined, bearer(t.token));
    expect(after.status).toBe(401);
    expect(after.body.error.message).toBe('the API token was revoked');
    await sleep(1600);
    const expired = await gw.call('GET', '/v1/operations', undefined, bearer(tokens['short-lived']!.token));
    expect(expired.status).toBe(401);
    expect(expired.body.error.message).toBe('the API token has expired');
  });

  it('refuses a token revoked by another gateway on the same database within 5 s', async () => {
    const created = await gw.call('POST', '/v1/tokens', { name: 'revoked-elsewhere', grants: [{ role: 'viewer' }] });
    expect(created.status).toBe(201);
    const token = created.body.token as string;
    // this gateway has read the token: it is cached now
    for (let i = 0; i < 2; i++) expect((await gw.call('GET', '/v1/operations', undefined, bearer(token))).status).toBe(200);
    // what DELETE /v1/tokens/:id on another gateway writes
    await gw.app.get<PrismaClient>(PRISMA).apiToken.update({ where: { id: created.body.id }, data: { revokedAt: new Date() } });
    const revokedAt = Date.now();
    let status = 200;
    while (status === 200 && Date.now() - revokedAt < 10_000) {
      status = (await gw.call('GET', '/v1/operations', undefined, bearer(token))).status;
      if (status === 200) await sleep(100);
    }
    expect(status).toBe(401);
    expect(Date.now() - revokedAt).toBeLessThan(5_000 + 1_000);
  });

  it('audits every mutating call and every refusal, readable by admins only', async () => {
    const audit = await gw.call('GET', '/v1/audit?limit=200');
    expect(audit.status).toBe(200);
    const lines = audit.body.items.map((e: { actor: string; action: string; result: string }) => `${e.actor} ${e.action} ${e.result}`);
    expect(lines).toEqual(
      expect.arrayContaining([
        'token:bootstrap-admin POST /v1/tokens succeeded',
        'anonymous GET /v1/clusters denied:UNAUTHENTICATED',
        'token:to-revoke GET /v1/operations denied:UNAUTHENTICATED',
      ]),
    );
    if (swarm) {
      expect(lines).toEqual(
        expect.arrayContaining([
          'token:viewer-all POST /v1/clusters/:cluster/apps denied:FORBIDDEN',
          'token:viewer-all mutation scaleService denied:FORBIDDEN',
          'token:operator-a GET /v1/clusters/:cluster denied:NOT_FOUND',
          'token:operator-a POST /v1/clusters/:cluster/apps denied:NOT_FOUND',
          'token:bootstrap-admin POST /v1/clusters/:cluster/volumes succeeded',
        ]),
      );
    }
    expect(audit.body.items.every((e: { correlationId?: string }) => !!e.correlationId)).toBe(true);
    expect((await gw.call('GET', '/v1/audit', undefined, bearer(tokens['viewer-all']!.token))).status).toBe(403);
    const gql = await gw.graphql('{ auditLog(first: 5) { items { actor action result } nextCursor } }');
    expect(gql.data.auditLog.items).toHaveLength(5);
    const next = await gw.graphql(`{ auditLog(first: 5, after: "${gql.data.auditLog.nextCursor}") { items { actor action result } } }`);
    expect(next.data.auditLog.items).toHaveLength(5);
    expect(next.data.auditLog.items).not.toEqual(gql.data.auditLog.items);
  });

  it('hardens the transport: body limit, security headers, no CORS', async () => {
    const big = await gw.call('POST', '/v1/compose/convert', `name: x\nservices:\n  s:\n    image: "${'a'.repeat(2 * 1024 * 1024)}"\n`);
    expect(big.status).toBe(413);
    const nul = await gw.call('POST', '/v1/tokens', { name: 'n', grants: [{ role: 'viewer', cluster: 'a\u0000b' }] });
    expect(nul.status).toBe(400);
    expect(nul.body.error.message).toMatch(/NUL character/);
    const res = await fetch(`${gw.url}/v1/clusters`, { headers: { ...bearer(ADMIN_TOKEN), origin: 'https://evil.example' } });
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('content-security-policy')).toContain("default-src 'self'");
  });

  it('never puts a token secret in a response body or a log line', () => {
    const everything = `${gw.logs()}\n${gw.responses()}`;
    for (const { token } of Object.values(tokens)) {
      const secret = secretOf(token);
      // the creating response is the one place a secret appears
      expect(everything.split(secret).length - 1).toBeLessThanOrEqual(1);
      expect(gw.logs()).not.toContain(secret);
    }
    expect(gw.logs()).not.toContain(secretOf(ADMIN_TOKEN));
  });
});

describe('rate limit and production mode', () => {
  let gw: RunningGateway;
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'berth-limits-'));
    gw = await startGateway({
      BERTH_DATA_DIR: dir,
      BERTH_RATE_LIMIT: '6',
      BERTH_GRAPHQL_MAX_DEPTH: '2',
      BERTH_GRAPHQL_MAX_COST: '12',
      NODE_ENV: 'production',
      BERTH_SECRET_KEY: Buffer.alloc(32, 7).toString('base64'),
    });
  }, 60_000);
  afterAll(async () => {
    await gw?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('answers 429 past the per-token rate, limits query depth, and has no introspection in production', async () => {
    // variables are taken into account (a cost rule without them refused every query using one)
    const withVariables = await gw.graphql('query ($id: String!) { operation(id: $id) { id } }', { id: '00000000-0000-4000-8000-000000000000' });
    expect(withVariables.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const deep = await gw.graphql('{ app(cluster: "a", name: "x") { operations { items { progress { phase } } } } }');
    expect(JSON.stringify(deep.errors)).toMatch(/exceeds maximum operation depth of 2/);
    const costly = await gw.graphql(
      '{ clusters { id name kind endpoint createdAt updatedAt version nodeCount labels { key value } health { status message latencyMs } } }',
    );
    expect(costly.errors?.[0]?.message).toMatch(/query cost \d+ is over the limit of 12/);
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) statuses.push((await gw.call('GET', '/v1/operations')).status);
    expect(statuses.slice(0, 4)).toEqual([200, 200, 200, 200]);
    expect(statuses.at(-1)).toBe(429);
    const res = await fetch(`${gw.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...bearer(ADMIN_TOKEN) },
      body: JSON.stringify({ query: '{ __schema { types { name } } }' }),
    });
    const body = (await res.json()) as { errors?: { message: string }[] };
    expect(body.errors?.[0]?.message).toMatch(/introspection/i);
  });
});
