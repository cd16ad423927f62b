import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import parsePrometheus from 'parse-prometheus-text-format';
import { createScratchDatabase } from '@berth/db';
import { type RunningGateway, startGateway } from './harness.js';

/**
 * Monitoring of a Kubernetes cluster that serves no metrics.k8s.io (the test control plane has no
 * metrics-server): events are recorded and linked like on Swarm; metrics say clearly why there are none.
 */
const enabled = process.env.BERTH_SKIP_KUBERNETES !== '1' && !!process.env.BERTH_KUBECONFIG;
if (!enabled) console.warn('\n*** monitoring tests on kubernetes are SKIPPED (BERTH_SKIP_KUBERNETES=1 or no BERTH_KUBECONFIG) ***\n');

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
  }, 60_000);

  afterAll(async () => {
    await gw?.call('DELETE', `/v1/clusters/k1/apps/${app}?wait=true`).catch(() => undefined);
    await gw?.close();
    await dropDb();
  }, 60_000);

  it('says why no metrics are collected, on REST, GraphQL and /metrics', async () => {
    let k1: any;
    for (let i = 0; i < 60; i++) {
      k1 = (await gw.call('GET', '/v1/monitoring')).body.clusters.find((c: any) => c.cluster === 'k1');
      if (k1?.events?.state === 'streaming' && k1?.metrics?.state === 'unsupported') break;
      await sleep(250);
    }
    expect(k1).toMatchObject({ kind: 'kubernetes', local: true, events: { state: 'streaming' }, metrics: { state: 'unsupported' } });
    expect(k1.metrics.message).toMatch(/metrics\.k8s\.io/);

    const rest = await gw.call('GET', '/v1/metrics?cluster=k1');
    expect(rest.status).toBe(200);
    expect(rest.body).toMatchObject({ series: [], collection: { state: 'unsupported', owner: k1.owner } });
    expect(rest.body.collection.message).toMatch(/metrics-server/);
    const gql = await gw.graphql('{ metricsHistory(cluster: "k1") { resolution collection { state message } } }');
    expect(gql.data.metricsHistory.collection.state).toBe('unsupported');

    const families = parsePrometheus(await (await fetch(`${gw.url}/metrics`)).text());
    expect(families.find((f) => f.name === 'berth_metrics_collector_up')!.metrics).toContainEqual({ labels: { cluster: 'k1' }, value: '0' });
    const errors = families.find((f) => f.name === 'berth_metrics_collector_errors_total')!.metrics;
    expect(errors).toContainEqual(expect.objectContaining({ labels: { cluster: 'k1', code: 'UNSUPPORTED' } }));
  }, 30_000);

  it('records the events of a deployment, linked to the operation that made them', async () => {
    const applied = await gw.call('POST', '/v1/clusters/k1/apps?wait=true', { name: app, services: { web: { image: 'berth-test/http:1', replicas: 2 } } });
    expect(applied.body.operation).toMatchObject({ kind: 'apply', status: 'succeeded' });
    let items: any[] = [];
    for (let i = 0; i < 60; i++) {
      items = (await gw.call('GET', `/v1/events?cluster=k1&app=${app}&order=asc&limit=500`)).body.items;
      if (items.some((e) => e.kind === 'Pod') && items.some((e) => e.kind === 'Deployment')) break;
      await sleep(250);
    }
    const deployment = items.find((e) => e.kind === 'Deployment' && e.action === 'ScalingReplicaSet');
    expect(deployment).toMatchObject({ cluster: 'k1', app, service: 'web', operationId: applied.body.operation.id });
    const pods = items.filter((e) => e.kind === 'Pod');
    expect(pods.length).toBeGreaterThanOrEqual(2);
    expect(pods.every((e) => e.app === app && e.operationId === applied.body.operation.id)).toBe(true);
  }, 60_000);
});
