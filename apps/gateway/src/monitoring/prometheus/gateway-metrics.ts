import { Inject, Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Database } from '@berth/db';
import { DATABASE } from '../../database/database.module.js';
import { LatestSamples } from '../metrics/latest-samples.js';

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/**
 * The gateway's own metrics and the latest container metrics, in one registry per gateway (not
 * prom-client's global one, so several gateways in one test process do not share counters).
 * Container series come only from the clusters this replica collects: scraping every replica gives
 * each series once, and it moves with the collector on takeover.
 */
@Injectable()
export class GatewayMetrics {
  readonly registry = new Registry();

  readonly httpDuration = new Histogram({
    name: 'berth_http_request_duration_seconds',
    help: 'REST (and GraphQL-over-HTTP) request latency, by route pattern; streams (SSE, logs) are left out',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  readonly graphqlDuration = new Histogram({
    name: 'berth_graphql_resolver_duration_seconds',
    help: 'GraphQL latency of each top-level query or mutation field',
    labelNames: ['type', 'field', 'result'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  readonly operations = new Counter({
    name: 'berth_operations_total',
    help: 'Operations (apply, scale, update, rollback, job, ...) that ended, by kind and final status',
    labelNames: ['kind', 'result'] as const,
    registers: [this.registry],
  });

  readonly operationDuration = new Histogram({
    name: 'berth_operation_duration_seconds',
    help: 'Time from an operation being recorded to its end, by kind and final status',
    labelNames: ['kind', 'result'] as const,
    buckets: [0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800],
    registers: [this.registry],
  });

  readonly watcherUp = new Gauge({
    name: 'berth_event_watcher_up',
    help: "1 while this replica follows the cluster's event stream, 0 while it reconnects",
    labelNames: ['cluster'] as const,
    registers: [this.registry],
  });

  readonly watcherLag = new Gauge({
    name: 'berth_event_watcher_lag_seconds',
    help: 'Delay between the orchestrator emitting the newest stored event and Berth storing it',
    labelNames: ['cluster'] as const,
    registers: [this.registry],
  });

  readonly watcherReconnects = new Counter({
    name: 'berth_event_watcher_reconnects_total',
    help: 'Times the event stream of a cluster was lost and resumed from the stored cursor',
    labelNames: ['cluster'] as const,
    registers: [this.registry],
  });

  readonly eventsStored = new Counter({
    name: 'berth_events_stored_total',
    help: 'Cluster events stored (duplicates from a resumed stream are not counted)',
    labelNames: ['cluster'] as const,
    registers: [this.registry],
  });

  readonly collectorUp = new Gauge({
    name: 'berth_metrics_collector_up',
    help: '1 when the last sampling of the cluster succeeded, 0 when it failed or the cluster serves no metrics',
    labelNames: ['cluster'] as const,
    registers: [this.registry],
  });

  readonly collectorBatch = new Histogram({
    name: 'berth_metrics_collector_batch_size',
    help: 'Container or pod samples stored per collection',
    labelNames: ['cluster'] as const,
    buckets: [0, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500],
    registers: [this.registry],
  });

  readonly collectorDuration = new Histogram({
    name: 'berth_metrics_collector_duration_seconds',
    help: 'Time to sample a cluster and store the batch',
    labelNames: ['cluster'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
    registers: [this.registry],
  });

  readonly collectorErrors = new Counter({
    name: 'berth_metrics_collector_errors_total',
    help: 'Failed collections, by error code (UNSUPPORTED: the cluster serves no resource metrics)',
    labelNames: ['cluster', 'code'] as const,
    registers: [this.registry],
  });

  readonly rollupDuration = new Histogram({
    name: 'berth_metrics_rollup_duration_seconds',
    help: 'Time of one rollup and retention pass over every cluster',
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });

  readonly leasesOwned = new Gauge({
    name: 'berth_monitoring_leases_owned',
    help: 'Background work (cluster watchers and collectors, the rollup job) this replica owns now',
    registers: [this.registry],
  });

  constructor(@Inject(DATABASE) db: Database, latest: LatestSamples) {
    collectDefaultMetrics({ register: this.registry });

    new Gauge({
      name: 'berth_db_pool_connections',
      help: 'Database pool connections of this replica, by state (in use = total - idle)',
      labelNames: ['state'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        const pool = db.poolStats();
        if (!pool) return;
        this.set({ state: 'total' }, pool.total);
        this.set({ state: 'idle' }, pool.idle);
        this.set({ state: 'in_use' }, pool.total - pool.idle);
        this.set({ state: 'waiting' }, pool.waiting);
        this.set({ state: 'max' }, pool.max);
      },
    });

    const labels = ['cluster', 'app', 'service', 'replica', 'node'] as const;
    type Labels = Record<(typeof labels)[number], string>;
    const each = (fn: (l: Labels, s: ReturnType<LatestSamples['all']>[number]['samples'][number]) => void) => {
      for (const { cluster, samples } of latest.all()) {
        for (const s of samples) fn({ cluster, app: s.app ?? '', service: s.service ?? '', replica: s.replica, node: s.node ?? '' }, s);
      }
    };
    const gauge = (name: string, help: string, value: (s: Parameters<Parameters<typeof each>[0]>[1]) => number | undefined) =>
      new Gauge({
        name,
        help,
        labelNames: labels,
        registers: [this.registry],
        collect() {
          this.reset();
          each((l, s) => {
            const v = value(s);
            if (v !== undefined) this.set(l, v);
          });
        },
      });
    // the engine's byte counts are cumulative since the container started: counters, for rate()
    const counter = (name: string, help: string, value: (s: Parameters<Parameters<typeof each>[0]>[1]) => number) =>
      new Counter({
        name,
        help,
        labelNames: labels,
        registers: [this.registry],
        collect() {
          this.reset();
          each((l, s) => this.inc(l, Math.max(0, value(s))));
        },
      });
    gauge('berth_container_cpu_cores', 'CPU in use by a container or pod at the last collection, in cores', (s) => s.cpuCores);
    gauge('berth_container_memory_bytes', 'Memory in use (working set) by a container or pod at the last collection', (s) => s.memoryBytes);
    gauge('berth_container_memory_limit_bytes', 'Memory limit of a container or pod, where one is set', (s) => s.memoryLimitBytes);
    gauge('berth_container_last_sample_timestamp_seconds', 'When the last sample of a container or pod was read', (s) => Date.parse(s.time) / 1000);
    counter('berth_container_network_receive_bytes_total', 'Bytes received by a container since it started', (s) => s.netRxBytes);
    counter('berth_container_network_transmit_bytes_total', 'Bytes sent by a container since it started', (s) => s.netTxBytes);
    counter('berth_container_block_read_bytes_total', 'Bytes read from block devices by a container since it started', (s) => s.blockReadBytes);
    counter('berth_container_block_write_bytes_total', 'Bytes written to block devices by a container since it started', (s) => s.blockWriteBytes);
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
