import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { PrismaClient } from '@berth/db';

const ROOT = path.resolve(import.meta.dirname, '../../..');
const DIST = path.join(ROOT, 'apps/gateway/dist');

/** A history query as the API runs it: one call into the gateway's own service. */
export interface HistoryCall {
  name: string;
  /** The gateway code that runs it. */
  source: string;
  /** The big table whose index must serve it. */
  table: string;
  run: () => Promise<unknown>;
}

export interface HistoryIds {
  clusterId: string;
  clusterName: string;
  appName: string;
  appId: string;
  operationId: string;
  metricApp: string;
  metricService: string;
}

/**
 * The gateway's own services from its build (apps/gateway/dist), on the benchmark's Prisma client,
 * so the queries timed are exactly the ones the API runs (not a copy that could drift). Only what the
 * history calls touch is real; the cluster lookup is answered from the row the benchmark wrote.
 */
export async function gatewayHistoryCalls(prisma: PrismaClient, ids: HistoryIds): Promise<HistoryCall[]> {
  const requireFromGateway = createRequire(path.join(ROOT, 'apps/gateway/package.json'));
  await import(pathToFileURL(requireFromGateway.resolve('reflect-metadata')).href);
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the gateway's classes, typed by their own build, not by this package
  const load = async (file: string) => (await import(pathToFileURL(path.join(DIST, file)).href)) as Record<string, new (...args: unknown[]) => any>;
  const { ChangeStore } = await load('changes/change.store.js');
  const { OperationHistory } = await load('changes/operation-history.service.js');
  const { AppsService } = await load('apps/apps.service.js');
  const { MetricsHistoryService } = await load('monitoring/metrics/metrics-history.service.js');
  const cluster = { id: ids.clusterId, name: ids.clusterName };
  const clusters = { driverFor: async () => ({ cluster, driver: undefined }), find: async () => cluster };
  // Reading the history needs only the store (the followers wait for open operations).
  const operations = new OperationHistory!(new ChangeStore!(prisma), undefined);
  // revisions() reads the cluster and the rows; the pipeline, secrets, policy and recent changes serve writes.
  const apps = new AppsService!(prisma, clusters, undefined, undefined, undefined, undefined);
  const config = {
    monitoring: {
      metrics: {
        intervalMs: 15_000,
        bucketMs: { minute: 60_000, hour: 3_600_000 },
        retentionMs: { raw: 24 * 3_600_000, minute: 14 * 24 * 3_600_000, hour: 365 * 24 * 3_600_000 },
      },
    },
  };
  const metrics = new MetricsHistoryService!(prisma, clusters, undefined, config);
  /** What MetricsHistoryService.query() does for GET /v1/clusters/:c/metrics?app&service&from=-24h (step given or its default). */
  const metrics24h = (stepMs?: number) => {
    const to = new Date();
    const span = 24 * 3_600_000;
    const step = stepMs ?? Math.max(1000, Math.ceil(span / 120 / 1000) * 1000);
    const from = new Date(Math.floor((to.getTime() - span) / step) * step);
    const resolution = metrics.resolutionFor(from, step);
    return metrics.buckets(ids.clusterId, resolution, from, to, step, ids.metricApp, ids.metricService) as Promise<unknown[]>;
  };
  return [
    {
      name: 'last 50 operations of an app',
      source: 'OperationHistory.list (GET /v1/operations?app=)',
      table: 'Operation',
      run: () => operations.list({ appId: ids.appId }, { limit: 50 }).then((r: { items: unknown[] }) => r.items),
    },
    {
      name: 'last 50 operations of a cluster',
      source: 'OperationHistory.list (GET /v1/operations?cluster=)',
      table: 'Operation',
      run: () => operations.list({ clusterId: ids.clusterId }, { limit: 50 }).then((r: { items: unknown[] }) => r.items),
    },
    {
      name: "an app's revisions (first page of 50)",
      source: 'AppsService.revisions (GET .../apps/:app/revisions)',
      table: 'Revision',
      run: () => apps.revisions(ids.clusterName, ids.appName, { limit: 50 }).then((r: { items: unknown[] }) => r.items),
    },
    {
      name: 'an operation with its progress',
      source: 'OperationHistory.get (GET /v1/operations/:id)',
      table: 'OperationProgress',
      run: () => operations.get(ids.operationId).then((op: { progress: unknown[] }) => op.progress),
    },
    {
      name: "a service's metrics over 24 h (default step 12m)",
      source: 'MetricsHistoryService.query -> buckets (GET /v1/clusters/:c/metrics)',
      table: 'MetricSample',
      run: () => metrics24h(),
    },
    {
      name: "a service's metrics over 24 h (step 1m)",
      source: 'MetricsHistoryService.query -> buckets, ?step=1m',
      table: 'MetricSample',
      run: () => metrics24h(60_000),
    },
  ];
}
