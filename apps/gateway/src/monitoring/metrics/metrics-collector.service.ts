import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { PrismaClient } from '@berth/db';
import { type ClusterConnection, DriverErrorCode, isDriverError, type OrchestratorDriver, type StatsSample } from '@berth/driver';
import { CONFIG, type Config } from '../../config/config.js';
import { LOGGER } from '../../common/logger.js';
import { PRISMA } from '../../database/database.module.js';
import { ClusterDrivers } from '../../drivers/cluster-drivers.service.js';
import { SecretBox } from '../../secrets/secret-box.js';
import { GatewayMetrics } from '../prometheus/gateway-metrics.js';
import { LatestSamples } from './latest-samples.js';
import { ClusterWorkers } from '../cluster-workers.js';
import { nodeEngineConnections } from './node-engines.js';

/** A cluster that serves no metrics is asked again this rarely (it may get metrics-server later). */
const UNSUPPORTED_RETRY_MS = 60_000;
const STOP_WAIT_MS = 3_000;

export interface CollectorStatus {
  /** collecting: samples are stored; unsupported: the cluster serves no resource metrics; failing: the last sampling failed. */
  state: 'starting' | 'collecting' | 'unsupported' | 'failing' | 'stopped';
  message?: string;
  since: string;
  lastSampleAt?: string;
  lastBatchSize?: number;
  lastDurationMs?: number;
  batches: number;
  /** Engines sampled (a multi-node swarm lists its other node engines in a cluster label). */
  engines?: number;
}

interface ClusterRef {
  id: string;
  name: string;
}

const big = (n: number) => BigInt(Math.max(0, Math.round(n)));

/** Samples one cluster at a fixed rate and stores each sampling as one batch. */
class MetricsCollector {
  private readonly stopping = new AbortController();
  private done: Promise<void> | undefined;
  /** Drivers of the other node engines, kept while their list (the label) stays the same. */
  private nodeEngines: { key: string; drivers: OrchestratorDriver[] } = { key: '', drivers: [] };
  readonly status: CollectorStatus = { state: 'starting', since: new Date().toISOString(), batches: 0 };

  constructor(
    private readonly cluster: ClusterRef,
    private readonly deps: {
      prisma: PrismaClient;
      drivers: ClusterDrivers;
      box: SecretBox;
      metrics: GatewayMetrics;
      latest: LatestSamples;
      logger: Logger;
      intervalMs: number;
    },
  ) {}

  start(): void {
    this.done = this.run().catch((e: unknown) => this.deps.logger.error({ cluster: this.cluster.name, err: e }, 'metrics collector crashed'));
  }

  /** A sampling under way is not waited for long: its result is dropped unwritten once stopping. */
  async stop(): Promise<void> {
    this.stopping.abort();
    await Promise.race([this.done, sleep(STOP_WAIT_MS, undefined, { ref: false })]);
  }

  private async run(): Promise<void> {
    const { intervalMs } = this.deps;
    while (!this.stopping.signal.aborted) {
      const started = Date.now();
      const wait = await this.collect();
      if (this.stopping.signal.aborted) break;
      // fixed rate: a slow sampling shortens the pause instead of drifting the schedule
      await sleep(Math.max(0, (wait ?? intervalMs) - (Date.now() - started)), undefined, { signal: this.stopping.signal }).catch(() => undefined);
    }
    this.status.state = 'stopped';
    await this.closeNodeEngines();
    this.deps.latest.drop(this.cluster.id);
    this.deps.metrics.collectorUp.remove({ cluster: this.cluster.name });
  }

  /** Drivers of node engines are the collector's own (ClusterDrivers keeps one per cluster): it closes them. */
  private nodeEngineDrivers(row: { credentials: Uint8Array; keyId: string; labels: unknown }): OrchestratorDriver[] {
    const own = JSON.parse(this.deps.box.open(row.credentials, row.keyId)) as ClusterConnection;
    const connections = nodeEngineConnections(own, (row.labels ?? {}) as Record<string, string>);
    const key = connectionKey(connections);
    if (key !== this.nodeEngines.key) {
      void this.closeNodeEngines();
      this.nodeEngines = { key, drivers: connections.map((c) => this.deps.drivers.open(c, `${this.cluster.name} node engine`)) };
    }
    return this.nodeEngines.drivers;
  }

  private async closeNodeEngines(): Promise<void> {
    const { drivers } = this.nodeEngines;
    this.nodeEngines = { key: '', drivers: [] };
    await Promise.allSettled(drivers.map((d) => d.close()));
  }

  /** One sampling; returns a longer pause when the cluster cannot be sampled at all. */
  private async collect(): Promise<number | undefined> {
    const { prisma, drivers, metrics, logger } = this.deps;
    const labels = { cluster: this.cluster.name };
    const started = performance.now();
    let samples: StatsSample[];
    try {
      const row = await prisma.cluster.findUnique({ where: { id: this.cluster.id } });
      if (!row) {
        this.stopping.abort();
        return;
      }
      const nodes = this.nodeEngineDrivers(row);
      const [own, ...others] = await Promise.allSettled([drivers.for(row).stats(), ...nodes.map((d) => d.stats())]);
      if (own!.status === 'rejected') throw own!.reason;
      // a container is reported once, by the engine of the node it runs on; an engine listed twice must not double it
      const byReplica = new Map(own!.value.map((s) => [s.replica, s]));
      const failed = others.filter((o) => o.status === 'rejected');
      for (const o of others) if (o.status === 'fulfilled') for (const s of o.value) if (!byReplica.has(s.replica)) byReplica.set(s.replica, s);
      samples = [...byReplica.values()];
      this.status.engines = 1 + nodes.length;
      if (failed.length) {
        metrics.collectorErrors.inc({ ...labels, code: 'NODE_ENGINE' }, failed.length);
        this.status.message = `${failed.length} of ${nodes.length} node engines did not answer: ${(failed[0] as PromiseRejectedResult).reason}`;
      }
    } catch (e) {
      const code = isDriverError(e) ? e.code : 'INTERNAL';
      metrics.collectorErrors.inc({ ...labels, code });
      metrics.collectorUp.set(labels, 0);
      const message = e instanceof Error ? e.message : String(e);
      if (isDriverError(e, DriverErrorCode.Unsupported)) {
        if (this.status.state !== 'unsupported')
          logger.warn({ cluster: this.cluster.name, reason: message }, 'cluster serves no resource metrics; not collecting');
        Object.assign(this.status, { state: 'unsupported', message });
        return Math.max(UNSUPPORTED_RETRY_MS, this.deps.intervalMs);
      }
      if (this.status.state !== 'failing')
        logger.warn({ cluster: this.cluster.name, err: message }, 'sampling the cluster failed; retrying at the next interval');
      Object.assign(this.status, { state: 'failing', message });
      return;
    }
    // samples read while stopping would be written after the database closed
    if (this.stopping.signal.aborted) return;
    try {
      await prisma.metricSample.createMany({
        data: samples.map((s) => ({
          clusterId: this.cluster.id,
          resolution: 'raw' as const,
          time: new Date(s.time),
          app: s.app ?? null,
          service: s.service ?? null,
          replica: s.replica,
          node: s.node ?? null,
          cpuCores: s.cpuCores,
          memoryBytes: big(s.memoryBytes),
          memoryLimitBytes: s.memoryLimitBytes === undefined ? null : big(s.memoryLimitBytes),
          netRxBytes: big(s.netRxBytes),
          netTxBytes: big(s.netTxBytes),
          blockReadBytes: big(s.blockReadBytes),
          blockWriteBytes: big(s.blockWriteBytes),
        })),
      });
    } catch (e) {
      metrics.collectorErrors.inc({ ...labels, code: 'DATABASE' });
      Object.assign(this.status, { state: 'failing', message: `storing samples failed: ${(e as Error).message.split('\n')[0]}` });
      return;
    }
    const ms = performance.now() - started;
    this.deps.latest.set(this.cluster.id, this.cluster.name, samples);
    metrics.collectorUp.set(labels, 1);
    metrics.collectorBatch.observe(labels, samples.length);
    metrics.collectorDuration.observe(labels, ms / 1000);
    Object.assign(this.status, {
      state: 'collecting',
      message: this.status.engines && this.status.engines > 1 ? this.status.message : undefined,
      lastSampleAt: new Date().toISOString(),
      lastBatchSize: samples.length,
      lastDurationMs: Math.round(ms),
    });
    this.status.batches++;
    return;
  }
}

function connectionKey(connections: ClusterConnection[]): string {
  return JSON.stringify(connections);
}

/** The metrics collectors this replica runs: one per cluster whose lease it holds. */
@Injectable()
export class MetricsCollectorService implements OnApplicationShutdown {
  private readonly collectors = new ClusterWorkers<MetricsCollector>();

  constructor(
    @Inject(PRISMA) private readonly prisma: PrismaClient,
    private readonly drivers: ClusterDrivers,
    private readonly box: SecretBox,
    private readonly metrics: GatewayMetrics,
    private readonly latest: LatestSamples,
    @Inject(CONFIG) private readonly config: Config,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  start(cluster: ClusterRef): void {
    this.collectors.start(
      cluster.id,
      () =>
        new MetricsCollector(cluster, {
          prisma: this.prisma,
          drivers: this.drivers,
          box: this.box,
          metrics: this.metrics,
          latest: this.latest,
          logger: this.logger,
          intervalMs: this.config.monitoring.metrics.intervalMs,
        }),
    );
  }

  stop(clusterId: string): Promise<void> {
    return this.collectors.stop(clusterId);
  }

  status(clusterId: string): CollectorStatus | undefined {
    return this.collectors.get(clusterId)?.status;
  }

  async onApplicationShutdown() {
    await this.collectors.stopAll();
  }
}
