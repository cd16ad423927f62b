import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createScratchDatabase } from '@berth/db';
import { ADMIN_TOKEN, type RunningGateway, secretOf, startGateway } from './harness.js';

const swarm = process.env.BERTH_SKIP_SWARM !== '1';
const kubeconfigPath = process.env.BERTH_KUBECONFIG;
const kubernetes = process.env.BERTH_SKIP_KUBERNETES !== '1' && !!kubeconfigPath;
if (!swarm) console.warn('\n*** BERTH_SKIP_SWARM=1: cluster tests against the Docker engine are SKIPPED ***\n');
if (!kubernetes) console.warn('\n*** BERTH_SKIP_KUBERNETES=1: cluster tests against Kubernetes are SKIPPED ***\n');

// A TLS key and a kubeconfig secret planted in requests; neither may ever come back out.
const PLANTED_KEY = '-----BEGIN PRIVATE KEY-----\nBERTHPLANTEDSECRETKEYMATERIAL0123456789\n-----END PRIVATE KEY-----';
const PLANTED_TOKEN = 'berth-planted-kube-token-5f1c9e';
const badKubeconfig = `apiVersion: v1
kind: Config
current-context: nowhere
clusters: [{ name: c, cluster: { server: "https://127.0.0.1:1" } }]
contexts: [{ name: nowhere, context: { cluster: c, user: u } }]
users: [{ name: u, user: { token: ${PLANTED_TOKEN} } }]
`;

type Backend = { name: string; env: () => Promise<Record<string, string>>; cleanup: () => Promise<void> };

function postgresBackend(): Backend {
  let drop = async () => {};
  return {
    name: 'Postgres',
    async env() {
      const db = await createScratchDatabase(process.env.DATABASE_URL!, 'berth_clusters');
      drop = db.drop;
      return { DATABASE_URL: db.url, BERTH_DATA_DIR: await mkdtemp(path.join(tmpdir(), 'berth-pg-')) };
    },
    cleanup: () => drop(),
  };
}

function pgliteBackend(): Backend {
  let dir = '';
  return {
    name: 'PGlite',
    async env() {
      dir = await mkdtemp(path.join(tmpdir(), 'berth-pglite-'));
      return { BERTH_DATA_DIR: dir };
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

describe.each([postgresBackend(), pgliteBackend()])('clusters resource on $name', (backend) => {
  let env: Record<string, string>;
  let gw: RunningGateway;
  const shared = { logs: [] as string[], responses: [] as string[] };
  let kubeconfig = '';

  beforeAll(async () => {
    env = await backend.env();
    gw = await startGateway(env, shared);
    if (kubernetes) kubeconfig = await readFile(kubeconfigPath!, 'utf8');
  }, 60_000);

  afterAll(async () => {
    await gw?.close();
    await backend.cleanup();
  });

  it('answers /v1/health and /v1/ready', async () => {
    expect(await gw.call('GET', '/v1/health')).toMatchObject({ status: 200, body: { status: 'ok' } });
    const ready = await gw.call('GET', '/v1/ready');
    expect(ready.status).toBe(200);
    expect(ready.body).toMatchObject({ status: 'ready', database: { ok: true } });
    expect(ready.headers.get('x-request-id')).toBeTruthy();
  });

  (swarm ? it : it.skip)('registers the local swarm by socket and reads its live health over REST and GraphQL', async () => {
    const created = await gw.call('POST', '/v1/clusters', { name: 'local', kind: 'swarm', socketPath: '/var/run/docker.sock', labels: { env: 'test' } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      name: 'local',
      kind: 'swarm',
      endpoint: 'unix:///var/run/docker.sock',
      health: { status: 'healthy' },
      labels: { env: 'test' },
    });
    expect(created.body.version).toMatch(/^\d+\.\d+/);
    expect(created.body.nodes.length).toBeGreaterThanOrEqual(1);

    const got = await gw.call('GET', '/v1/clusters/local');
    expect(got.status).toBe(200);
    expect(got.body.health.status).toBe('healthy');
    expect(got.body.nodes[0]).toMatchObject({ role: 'manager', status: 'ready' });

    const gql = await gw.graphql('{ cluster(name: "local") { name kind health { status } version nodes { name role status } labels { key value } } }');
    expect(gql.errors).toBeUndefined();
    expect(gql.data.cluster).toMatchObject({ name: 'local', kind: 'SWARM', health: { status: 'HEALTHY' }, labels: [{ key: 'env', value: 'test' }] });
    expect(gql.data.cluster.nodes[0]).toMatchObject({ role: 'MANAGER', status: 'READY' });
    expect(gql.data.cluster.version).toBe(got.body.version);
  });

  (kubernetes ? it : it.skip)('registers a Kubernetes cluster by kubeconfig content and reads its nodes', async () => {
    const created = await gw.call('POST', '/v1/clusters', { name: 'kube', kind: 'kubernetes', kubeconfig });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'kube', kind: 'kubernetes', health: { status: 'healthy' } });
    expect(created.body.endpoint).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(created.body.version).toMatch(/^v1\.\d+/);
    expect(created.body.nodes.length).toBeGreaterThanOrEqual(1);
    const gql = await gw.graphql('{ clusters { name kind health { status } } }');
    expect(gql.data.clusters).toEqual(expect.arrayContaining([{ name: 'kube', kind: 'KUBERNETES', health: { status: 'HEALTHY' } }]));
  });

  (swarm ? it : it.skip)('lists clusters from a health reading at most 5 s old, which a GET of one cluster refreshes', async () => {
    const checkedAt = async () => {
      const list = await gw.call('GET', '/v1/clusters');
      expect(list.status).toBe(200);
      return list.body.items.find((c: { name: string }) => c.name === 'local').health.checkedAt as string;
    };
    const first = await checkedAt();
    // the reading was taken within the last 5 s (registration or an earlier list), and is reused
    expect(Date.now() - Date.parse(first)).toBeLessThan(5_000 + 1_000);
    expect(await checkedAt()).toBe(first);
    const live = await gw.call('GET', '/v1/clusters/local');
    expect(Date.parse(live.body.health.checkedAt)).toBeGreaterThanOrEqual(Date.parse(first));
    expect(await checkedAt()).toBe(live.body.health.checkedAt);
    const gql = await gw.graphql('{ clusters { name health { status checkedAt } } }');
    expect(gql.data.clusters.find((c: { name: string }) => c.name === 'local').health).toEqual({ status: 'HEALTHY', checkedAt: live.body.health.checkedAt });
  });

  it('refuses bad input with a 4xx naming the problem, and stores nothing', async () => {
    const before = (await gw.call('GET', '/v1/clusters')).body.items.map((c: { name: string }) => c.name);
    const cases: [unknown, number, RegExp][] = [
      [{ name: 'x', kind: 'swarm', socketPath: '/var/run/docker.sock', colour: 'blue' }, 400, /unknown field "colour"/],
      [{ name: 5, kind: 'swarm', socketPath: '/var/run/docker.sock' }, 400, /^name: /m],
      [{ name: 'x', kind: 'nomad' }, 400, /"kind" to be "swarm" or "kubernetes"/],
      [{ name: 'x', kind: 'swarm' }, 400, /exactly one of "socketPath" and "host"/],
      [{ name: 'nosock', kind: 'swarm', socketPath: '/tmp/berth-no-such.sock' }, 400, /cannot use cluster at unix:\/\/\/tmp\/berth-no-such\.sock/],
      [
        { name: 'tls', kind: 'swarm', host: 'tcp://127.0.0.1:1', tls: { cert: PLANTED_KEY.replace(/PRIVATE KEY/g, 'CERTIFICATE'), key: PLANTED_KEY } },
        400,
        /cannot use cluster at tcp:\/\/127\.0\.0\.1:1/,
      ],
      [{ name: 'k', kind: 'kubernetes', kubeconfig: 'clusters: [unclosed' }, 400, /malformed kubeconfig/],
      [{ name: 'k', kind: 'kubernetes', kubeconfig: badKubeconfig, context: 'other' }, 400, /no context "other"/],
      [{ name: 'k', kind: 'kubernetes', kubeconfig: badKubeconfig }, 400, /cannot use cluster at https:\/\/127\.0\.0\.1:1/],
    ];
    for (const [body, status, message] of cases) {
      const res = await gw.call('POST', '/v1/clusters', body);
      expect({ body, status: res.status }).toEqual({ body, status });
      const text = [res.body.error.message, ...(res.body.error.details ?? []).map((d: { path: string; message: string }) => `${d.path}: ${d.message}`)].join(
        '\n',
      );
      expect(text).toMatch(message);
      expect(res.body.error.code).toBe('INVALID');
      expect(res.body.error.correlationId).toBe(res.headers.get('x-request-id'));
    }
    const malformedJson = await fetch(`${gw.url}/v1/clusters`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":' });
    expect(malformedJson.status).toBe(400);
    expect((await malformedJson.json()).error.message).toMatch(/malformed request body/);
    const after = (await gw.call('GET', '/v1/clusters')).body.items.map((c: { name: string }) => c.name);
    expect(after).toEqual(before);
  }, 60_000);

  (swarm ? it : it.skip)('refuses a second cluster of the same name with 409', async () => {
    const res = await gw.call('POST', '/v1/clusters', { name: 'local', kind: 'swarm', socketPath: '/var/run/docker.sock' });
    expect(res.status).toBe(409);
    expect(res.body.error).toMatchObject({ code: 'CONFLICT', message: 'a cluster named "local" is already registered' });
  });

  it('answers 404 with the error shape for a cluster that does not exist, on REST and GraphQL', async () => {
    const res = await gw.call('GET', '/v1/clusters/atlantis');
    expect(res.status).toBe(404);
    expect(res.body.error).toMatchObject({ code: 'NOT_FOUND', message: 'cluster "atlantis" not found' });
    const gql = await gw.graphql('{ cluster(name: "atlantis") { name } }');
    expect(gql.errors?.[0]).toMatchObject({ message: 'cluster "atlantis" not found', extensions: { code: 'NOT_FOUND' } });
  });

  it('GraphQL mutations validate like REST', async () => {
    const gql = await gw.graphql('mutation { registerCluster(input: { name: "Bad Name", kind: SWARM, socketPath: "/var/run/docker.sock" }) { name } }');
    expect(gql.errors?.[0]?.extensions).toMatchObject({ code: 'INVALID', details: [expect.objectContaining({ path: 'name' })] });
  });

  (swarm ? it : it.skip)(
    'updates labels, and keeps registered clusters across a restart',
    async () => {
      const patched = await gw.call('PATCH', '/v1/clusters/local', { labels: { env: 'staging' } });
      expect(patched.status).toBe(200);
      expect(patched.body.labels).toEqual({ env: 'staging' });
      await gw.close();
      gw = await startGateway(env, shared);
      const list = await gw.call('GET', '/v1/clusters');
      expect(list.body.items.map((c: { name: string }) => c.name)).toEqual(kubernetes ? ['kube', 'local'] : ['local']);
      const local = list.body.items.find((c: { name: string }) => c.name === 'local');
      expect(local).toMatchObject({ labels: { env: 'staging' }, health: { status: 'healthy' } });
    },
    60_000,
  );

  it('converts a Compose file, reporting what it cannot carry, and refuses it in strict mode', async () => {
    const yaml = 'name: shop\nservices:\n  web:\n    image: nginx\n    container_name: web\n    expose: ["80"]\n';
    const ok = await gw.call('POST', '/v1/compose/convert', yaml);
    expect(ok.status).toBe(200);
    expect(ok.body.spec.services.web.image).toBe('nginx');
    expect(ok.body.warnings.map((w: { path: string }) => w.path)).toEqual(['services.web.container_name', 'services.web.expose']);
    const strict = await gw.call('POST', '/v1/compose/convert?strict=true', yaml);
    expect(strict.status).toBe(400);
    expect(strict.body.error.details.map((d: { path: string }) => d.path)).toEqual(['services.web.container_name', 'services.web.expose']);
    const broken = await gw.call('POST', '/v1/compose/convert', 'services:\n  web:\n    build: .\n');
    expect(broken.status).toBe(400);
    expect(broken.body.error.details).toEqual(
      expect.arrayContaining([{ path: 'services.web', message: expect.stringMatching(/^has only a "build" section: .* --image web=<ref>/) }]),
    );
  });

  (swarm ? it : it.skip)('removes a cluster', async () => {
    expect((await gw.call('DELETE', '/v1/clusters/local')).body).toEqual({ removed: 'local' });
    expect((await gw.call('GET', '/v1/clusters/local')).status).toBe(404);
  });

  it('serves an OpenAPI document describing the endpoints and their error shape', async () => {
    const doc = (await gw.call('GET', '/docs/openapi.json')).body;
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/v1/clusters', '/v1/clusters/{cluster}', '/v1/health', '/v1/ready', '/v1/compose/convert']),
    );
    // shared schemas are components: follow the $ref as a generator would
    const resolve = (schema: { $ref?: string }) => (schema.$ref ? doc.components.schemas[schema.$ref.replace('#/components/schemas/', '')] : schema);
    const post = doc.paths['/v1/clusters'].post;
    const body = resolve(post.requestBody.content['application/json'].schema);
    expect(body.oneOf ?? body.anyOf).toHaveLength(2);
    expect(resolve(post.responses['400'].content['application/json'].schema).properties.error).toBeDefined();
  });

  it('never writes a credential into a response or a log line', () => {
    const everything = `${gw.logs()}\n${gw.responses()}`;
    expect(everything).not.toContain('BERTHPLANTEDSECRETKEYMATERIAL');
    expect(everything).not.toContain(PLANTED_TOKEN);
    expect(everything).not.toContain(secretOf(ADMIN_TOKEN));
    if (kubernetes) {
      const secrets = [...kubeconfig.matchAll(/(client-key-data|client-certificate-data|token):\s*(\S+)/g)].map((m) => m[2]!);
      expect(secrets.length).toBeGreaterThan(0);
      for (const s of secrets) expect(everything).not.toContain(s);
    }
    // the logs are JSON lines, with a correlation id on request lines
    const requestLines = gw
      .logs()
      .split('\n')
      .filter((l) => l.includes('"msg":"request"'));
    expect(requestLines.length).toBeGreaterThan(5);
    for (const l of requestLines) expect(JSON.parse(l).correlationId).toBeTruthy();
  });
});
