import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createScratchDatabase } from '@berth/db';
import { ADMIN_TOKEN, type RunningGateway, startGateway } from './harness.js';
import { sseEvents } from './sse.js';

/**
 * Monitoring of the test Kubernetes cluster, with the app on its real node (packages/testenv/k8s/
 * node-up.sh; chosen by a placement constraint, as a user picks nodes): CPU and memory history
 * from metrics.k8s.io (metrics-server), events linked to the operation, logs over REST.
 */
const enabled = process.env.BERTH_SKIP_KUBERNETES !== '1' && !!process.env.BERTH_KUBECONFIG;
if (!enabled) console.warn('\n*** monitoring tests on kubernetes are SKIPPED (BERTH_SKIP_KUBERNETES=1 or no BERTH_KUBECONFIG) ***\n');
const ON_REAL_NODE = { placement: { constraints: ['node.labels.berth-runtime == containers'] } };

async function until<T>(what: string, read: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 60_000, everyMs = 500): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T;
  do {
    last = await read();
    if (ok(last)) return last;
    await sleep(everyMs);
  } while (Date.now() < deadline);
  throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(last).slice(0, 2000)}`);
}

(enabled ? describe : describe.skip)('monitoring on kubernetes', () => {
  let gw: RunningGateway;
  let dropDb: () => Promise<void> = async () => {};
  const app = `monk-${Date.now().toString(36)}`;

  beforeAll(async () => {
    const scratch = await createScratchDatabase(process.env.DATABASE_URL!, 'berth_monk8s');
    dropDb = scratch.drop;
    gw = await startGateway({
      DATABASE_URL: scratch.url,
      BERTH_DATA_DIR: await mkdtemp(path.join(tmpdir(), 'berth-monk8s-')),
      BERTH_MONITORING_LEASE_TTL: '3s',
      BERTH_EVENTS_FLUSH: '100ms',
      BERTH_METRICS_INTERVAL: '2s',
      BERTH_LOG_LEVEL: 'info',
    });
    const kubeconfig = await readFile(process.env.BERTH_KUBECONFIG!, 'utf8');
    expect((await gw.call('POST', '/v1/clusters', { name: 'k1', kind: 'kubernetes', kubeconfig })).status).toBe(201);
    // events before the watch starts are not history Berth can have: deploy once it streams
    await until(
      'the event watcher to stream',
      async () => (await gw.call('GET', '/v1/monitoring')).body,
      (m) => m.clusters?.[0]?.events?.state === 'streaming',
    );
  }, 120_000);

  afterAll(async () => {
    await gw?.call('DELETE', `/v1/clusters/k1/apps/${app}?wait=true`).catch(() => undefined);
    await gw?.close();
    await dropDb();
  }, 60_000);

  it('records the events of a deployment, linked to the operation that made them', async () => {
    const applied = await gw.call('POST', '/v1/clusters/k1/apps?wait=true', {
      name: app,
      services: {
        ticker: {
          image: 'berth-test/busybox:1',
          replicas: 2,
          command: ['sh', '-c', 'trap "exit 0" TERM; i=0; while true; do echo "tick $i from $(hostname)"; i=$((i+1)); sleep 0.5; done'],
          ...ON_REAL_NODE,
        },
      },
    });
    expect(applied.body.operation).toMatchObject({ kind: 'apply', status: 'succeeded' });
    let items: any[] = [];
    // the watcher stores events in batches; on a busy machine the last of them can take seconds
    for (let i = 0; i < 120; i++) {
      items = (await gw.call('GET', `/v1/events?cluster=k1&app=${app}&order=asc&limit=500`)).body.items;
      if (items.filter((e) => e.kind === 'Pod').length >= 2 && items.some((e) => e.kind === 'Deployment' && e.action === 'ScalingReplicaSet')) break;
      await sleep(250);
    }
    const deployment = items.find((e) => e.kind === 'Deployment' && e.action === 'ScalingReplicaSet');
    expect(deployment).toMatchObject({ cluster: 'k1', app, service: 'ticker', operationId: applied.body.operation.id });
    const pods = items.filter((e) => e.kind === 'Pod');
    expect(pods.length).toBeGreaterThanOrEqual(2);
    expect(pods.every((e) => e.app === app && e.operationId === applied.body.operation.id)).toBe(true);
  }, 60_000);

  it('collects CPU and memory history of the service from metrics.k8s.io, on REST and GraphQL', async () => {
    const k1 = await until(
      'metrics collection on k1',
      async () => (await gw.call('GET', '/v1/monitoring')).body.clusters.find((c: any) => c.cluster === 'k1'),
      (c: any) => c?.metrics?.state === 'collecting',
    );
    expect(k1).toMatchObject({ kind: 'kubernetes', events: { state: 'streaming' }, metrics: { state: 'collecting' } });
    const from = new Date(Date.now() - 10 * 60_000).toISOString();
    const history = await until(
      'CPU and memory history of both ticker replicas',
      async () => (await gw.call('GET', `/v1/metrics?cluster=k1&app=${app}&service=ticker&by=replica&from=${from}`)).body,
      (b: any) => b.series?.length === 2 && b.series.every((x: any) => x.points.length > 0),
      90_000,
      1000,
    );
    expect(history.collection.state).toBe('collecting');
    for (const series of history.series) {
      expect(series).toMatchObject({ app, service: 'ticker' });
      expect(series.replica).toMatch(/^ticker-/);
      expect(series.points.every((p: any) => p.memoryBytes > 0 && p.cpuCores >= 0)).toBe(true);
    }
    const gql = await gw.graphql(
      `{ metricsHistory(cluster: "k1", app: "${app}", service: "ticker", from: "${from}") { collection { state } series { service points { memoryBytes } } } }`,
    );
    expect(gql.data.metricsHistory.collection.state).toBe('COLLECTING');
    expect(gql.data.metricsHistory.series[0].points[0].memoryBytes).toBeGreaterThan(0);
  }, 120_000);

  it('streams the logs of both replicas over REST, and follows them', async () => {
    const res = await fetch(`${gw.url}/v1/clusters/k1/apps/${app}/services/ticker/logs?tail=3`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('application/x-ndjson');
    const lines = (await res.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(new Set(lines.map((l) => l.replica)).size).toBe(2);
    expect(lines.every((l) => /^tick \d+ from ticker-/.test(l.line) && !Number.isNaN(Date.parse(l.time)))).toBe(true);

    const abort = new AbortController();
    const followed: any[] = [];
    const reading = fetch(`${gw.url}/v1/clusters/k1/apps/${app}/services/ticker/logs?follow=true&tail=0&format=sse`, {
      signal: abort.signal,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, accept: 'text/event-stream' },
    })
      .then(async (r) => {
        for await (const e of sseEvents(r)) followed.push(e.data);
      })
      .catch((e: unknown) => {
        if (!abort.signal.aborted) throw e;
      });
    await until(
      'followed lines of both replicas',
      async () => new Set(followed.map((l) => l.replica)).size,
      (n) => n === 2,
      30_000,
      250,
    );
    expect(followed.every((l) => l.line.startsWith('tick '))).toBe(true);
    abort.abort();
    await reading;
  }, 60_000);
});
