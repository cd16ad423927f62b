import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type RunningGateway, startGatewayWithCluster } from './harness.js';
import { dockerApi } from './docker-api.js';
import { kubeRequest } from './kube-api.js';

/**
 * Reads of services, discovery and app status come from the gateway's watch-fed read model of the
 * cluster: they say so, `?fresh=true` asks the orchestrator, a change made behind Berth's back
 * shows up without asking for it, and a caller reads its own writes at once.
 */
const backends = [
  { kind: 'swarm' as const, enabled: process.env.BERTH_SKIP_SWARM !== '1' },
  { kind: 'kubernetes' as const, enabled: process.env.BERTH_SKIP_KUBERNETES !== '1' && !!process.env.BERTH_KUBECONFIG },
];

/** Sets a service's replica count straight on the orchestrator, as `docker service scale` or `kubectl scale` would. */
async function scaleBehindBerth(kind: 'swarm' | 'kubernetes', app: string, service: string, replicas: number): Promise<void> {
  if (kind === 'swarm') {
    const current = JSON.parse((await dockerApi('GET', `/services/${app}_${service}`)).body);
    const spec = { ...current.Spec, Mode: { Replicated: { Replicas: replicas } } };
    const res = await dockerApi('POST', `/services/${current.ID}/update?version=${current.Version.Index}`, spec);
    if (res.status !== 200) throw new Error(`docker service scale: ${res.status} ${res.body}`);
  } else {
    const res = await kubeRequest('PATCH', `/apis/apps/v1/namespaces/${app}/deployments/${service}`, { spec: { replicas } });
    if (res.status !== 200) throw new Error(`kubectl scale: ${res.status} ${JSON.stringify(res.body)}`);
  }
}

async function until<T>(what: string, read: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(v)} after ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const withoutObserved = (items: { observed?: unknown }[]) => items.map(({ observed: _o, ...rest }) => rest);

describe.each(backends.filter((b) => b.enabled))('reads from the read model on $kind', ({ kind }) => {
  let gw: RunningGateway;
  const app = `rm-${kind.slice(0, 4)}-${Date.now().toString(36)}`;
  const services = `/v1/clusters/c1/apps/${app}/services`;

  beforeAll(async () => {
    gw = await startGatewayWithCluster(kind, 'berth_readmodel');
    const res = await gw.call('POST', '/v1/clusters/c1/apps?wait=true', {
      name: app,
      services: { web: { image: 'berth-test/http:1', replicas: 1, ports: [{ target: 8080 }] }, idle: { image: 'berth-test/http:1', replicas: 0 } },
    });
    expect(res.body.operation).toMatchObject({ status: 'succeeded' });
  }, 180_000);

  afterAll(async () => {
    await gw?.call('DELETE', `/v1/clusters/c1/apps/${app}?wait=true`).catch(() => undefined);
    await gw?.close();
  });

  it('answers from the read model once it has caught up, with the same data the orchestrator gives', async () => {
    const cached = await until(
      'the services answered from the read model',
      async () => (await gw.call('GET', services)).body.items as { observed: { source: string; ageMs: number } }[],
      (items) => items.length === 2 && items.every((i) => i.observed.source === 'cache'),
    );
    for (const item of cached) expect(item.observed.ageMs).toBeGreaterThanOrEqual(0);
    const fresh = (await gw.call('GET', `${services}?fresh=true`)).body.items as { observed: { source: string } }[];
    expect(fresh.map((i) => i.observed.source)).toEqual(['orchestrator', 'orchestrator']);
    // the replica's endpoint may be mid-healthcheck in one of the two: compare once both agree
    await until(
      'cached and fresh answers to agree',
      async () => [withoutObserved((await gw.call('GET', services)).body.items), withoutObserved((await gw.call('GET', `${services}?fresh=true`)).body.items)],
      ([a, b]) => JSON.stringify(a) === JSON.stringify(b),
    );
    const one = await gw.call('GET', `${services}/web`);
    expect(one.body.observed.source).toBe('cache');
    const status = await gw.call('GET', `/v1/clusters/c1/apps/${app}`);
    expect(status.body.observed.source).toBe('cache');
  }, 60_000);

  it('GraphQL takes fresh too, and says which answered', async () => {
    const q = (fresh: string) => `{ services(cluster: "c1", app: "${app}"${fresh}) { service observed { source ageMs } } }`;
    const cached = await gw.graphql(q(''));
    expect(cached.errors).toBeUndefined();
    expect(cached.data.services.map((s: { observed: { source: string } }) => s.observed.source)).toEqual(['cache', 'cache']);
    const fresh = await gw.graphql(q(', fresh: true'));
    expect(fresh.data.services.map((s: { observed: { source: string } }) => s.observed.source)).toEqual(['orchestrator', 'orchestrator']);
  });

  it('refuses a fresh that is not a boolean, naming it', async () => {
    const res = await gw.call('GET', `${services}?fresh=maybe`);
    expect(res.status).toBe(400);
    expect(res.body.error.message).toContain('fresh');
    expect(res.body.error.details).toEqual([{ path: 'fresh', message: 'expected true or false' }]);
  });

  it('shows a change made outside Berth without being asked for a fresh read', async () => {
    const started = Date.now();
    await scaleBehindBerth(kind, app, 'idle', 2);
    const seen = await until(
      'the outside scale in a cached read',
      async () => (await gw.call('GET', `${services}/idle`)).body,
      (s: { replicas: { desired: number } }) => s.replicas.desired === 2,
    );
    expect(seen.observed.source).toBe('cache');
    console.log(`${kind}: a scale made outside Berth showed in a cached read after ${Date.now() - started} ms`);
    await scaleBehindBerth(kind, app, 'idle', 0);
    await until(
      'the outside scale back to 0',
      async () => (await gw.call('GET', `${services}/idle`)).body,
      (s: { replicas: { desired: number } }) => s.replicas.desired === 0,
    );
  }, 60_000);

  it('lets a caller read its own write at once', async () => {
    const res = await gw.call('POST', `${services}/idle/scale`, { replicas: 3 });
    expect([200, 202]).toContain(res.status);
    const read = await gw.call('GET', `${services}/idle`);
    expect(read.body.replicas.desired).toBe(3);
    expect(read.body.observed.source).toBe('orchestrator');
    await gw.call('POST', `${services}/idle/scale?wait=true`, { replicas: 0 });
  }, 120_000);

  it('reports the read model in GET /v1/monitoring', async () => {
    const res = await gw.call('GET', '/v1/monitoring');
    const c1 = res.body.clusters.find((c: { cluster: string }) => c.cluster === 'c1');
    expect(c1.readModel).toMatchObject({ state: 'live' });
    expect(c1.readModel.reads.cached).toBeGreaterThan(0);
    expect(Object.values(c1.readModel.objects as Record<string, number>).some((n) => n > 0)).toBe(true);
  });
});
