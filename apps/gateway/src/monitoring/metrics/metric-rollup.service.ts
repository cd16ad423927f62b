import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { PrismaClient } from '@berth/db';
import { CONFIG, type Config } from '../../config/config.js';
import { LOGGER } from '../../common/logger.js';
import { PRISMA } from '../../database/database.module.js';
import { GatewayMetrics } from '../prometheus/gateway-metrics.js';

type Resolution = 'raw' | 'minute' | 'hour';
const DELETE_BATCH = 5_000;

export interface RollupStatus {
  state: 'idle' | 'running' | 'stopped';
  lastRunAt?: string;
  lastError?: string;
  rolledUp: { minute: number; hour: number };
  expired: { raw: number; minute: number; hour: number; events: number };
}

/**
 * Rolls raw samples up into minute buckets and minute buckets into hour buckets, then expires each
 * resolution by its retention. Each bucket is written once: a resolution's newest bucket is its
 * watermark, and only whole buckets older than the collection lag are rolled. Samples not rolled up
 * yet are never expired, whatever the retention says, so a stopped rollup job loses no history.
 */
@Injectable()
export class MetricRollupService implements OnApplicationShutdown {
  private stopping: AbortController | undefined;
  private done: Promise<void> | undefined;
  readonly status: RollupStatus = { state: 'stopped', rolledUp: { minute: 0, hour: 0 }, expired: { raw: 0, minute: 0, hour: 0, events: 0 } };

  constructor(
    @Inject(PRISMA) private readonly prisma: PrismaClient,
    private readonly metrics: GatewayMetrics,
    @Inject(CONFIG) private readonly config: Config,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  start(): void {
    if (this.stopping) return;
    const stopping = (this.stopping = new AbortController());
    this.status.state = 'idle';
    this.done = (async () => {
      while (!stopping.signal.aborted) {
        await this.runOnce(stopping.signal).catch((e: unknown) => {
          this.status.lastError = (e as Error).message;
          this.logger.warn({ err: this.status.lastError }, 'metrics rollup failed; trying again at the next interval');
        });
        await sleep(this.config.monitoring.metrics.rollupIntervalMs, undefined, { signal: stopping.signal }).catch(() => undefined);
      }
      this.status.state = 'stopped';
    })();
  }

  async stop(): Promise<void> {
    this.stopping?.abort();
    this.stopping = undefined;
    await this.done;
  }

  running(): boolean {
    return !!this.stopping;
  }

  /** One pass over every cluster: roll up, then expire. */
  async runOnce(signal?: AbortSignal): Promise<void> {
    const { bucketMs, retentionMs, intervalMs } = this.config.monitoring.metrics;
    const timer = this.metrics.rollupDuration.startTimer();
    this.status.state = 'running';
    try {
      // a sample is stored up to one collection after it was read: wait that out before closing a bucket
      const lagMs = 2 * intervalMs + 1_000;
      const clusters = await this.prisma.cluster.findMany({ select: { id: true } });
      for (const { id } of clusters) {
        if (signal?.aborted) return;
        this.status.rolledUp.minute += await this.rollUp(id, 'raw', 'minute', bucketMs.minute, lagMs);
        this.status.rolledUp.hour += await this.rollUp(id, 'minute', 'hour', bucketMs.hour, lagMs + bucketMs.minute);
        for (const resolution of ['raw', 'minute', 'hour'] as const) {
          const coarser = resolution === 'raw' ? 'minute' : resolution === 'minute' ? 'hour' : undefined;
          this.status.expired[resolution] += await this.expire(id, resolution, retentionMs[resolution], coarser);
        }
      }
      this.status.expired.events += await this.expireEvents(this.config.monitoring.events.retentionMs);
      this.status.lastRunAt = new Date().toISOString();
      this.status.lastError = undefined;
    } finally {
      timer();
      if (this.status.state === 'running') this.status.state = 'idle';
    }
  }

  /** Rolls `from` rows into whole `to` buckets after the watermark; returns the buckets written. */
  private async rollUp(clusterId: string, from: Resolution, to: Resolution, widthMs: number, lagMs: number): Promise<number> {
    return this.prisma.$transaction(async (tx) => {
      // one rollup of a cluster at a time, even if two replicas briefly both think they own the job
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${`berth-rollup:${clusterId}`}))`;
      return tx.$executeRaw`
        WITH mark AS (
          SELECT coalesce(
            (SELECT max("time") + ${widthMs}::int * interval '1 millisecond' FROM "MetricSample"
              WHERE "clusterId" = ${clusterId}::uuid AND "resolution" = ${to}::"MetricResolution"),
            '-infinity'::timestamptz) AS "after",
            date_bin(${widthMs}::int * interval '1 millisecond', now() - ${lagMs}::int * interval '1 millisecond', timestamptz '1970-01-01 00:00:00+00') AS "before"
        )
        INSERT INTO "MetricSample" ("clusterId", "resolution", "time", "app", "service", "replica", "node", "cpuCores", "memoryBytes",
          "memoryLimitBytes", "netRxBytes", "netTxBytes", "blockReadBytes", "blockWriteBytes", "samples", "cpuCoresMax", "memoryMaxBytes")
        SELECT s."clusterId", ${to}::"MetricResolution",
          date_bin(${widthMs}::int * interval '1 millisecond', s."time", timestamptz '1970-01-01 00:00:00+00') AS "bucket",
          s."app", s."service", s."replica", max(s."node"),
          sum(s."cpuCores" * s."samples") / sum(s."samples"),
          round(sum(s."memoryBytes"::numeric * s."samples") / sum(s."samples"))::bigint,
          max(s."memoryLimitBytes"),
          max(s."netRxBytes"), max(s."netTxBytes"), max(s."blockReadBytes"), max(s."blockWriteBytes"),
          sum(s."samples"),
          max(coalesce(s."cpuCoresMax", s."cpuCores")),
          max(coalesce(s."memoryMaxBytes", s."memoryBytes"))
        FROM "MetricSample" s, mark
        WHERE s."clusterId" = ${clusterId}::uuid AND s."resolution" = ${from}::"MetricResolution"
          AND s."time" >= mark."after" AND s."time" < mark."before"
        GROUP BY s."clusterId", "bucket", s."app", s."service", s."replica"`;
    });
  }

  /** Deletes rows older than the retention, but never rows the coarser resolution has not absorbed yet. */
  private async expire(clusterId: string, resolution: Resolution, retentionMs: number, coarser: Resolution | undefined): Promise<number> {
    let total = 0;
    for (;;) {
      const deleted = await this.prisma.$executeRaw`
        DELETE FROM "MetricSample" WHERE "id" IN (
          SELECT "id" FROM "MetricSample"
          WHERE "clusterId" = ${clusterId}::uuid AND "resolution" = ${resolution}::"MetricResolution"
            AND "time" < now() - ${retentionMs}::bigint * interval '1 millisecond'
            AND (${coarser ?? null}::"MetricResolution" IS NULL OR "time" < coalesce(
              (SELECT max("time") FROM "MetricSample" WHERE "clusterId" = ${clusterId}::uuid AND "resolution" = ${coarser ?? 'hour'}::"MetricResolution"),
              '-infinity'::timestamptz))
          LIMIT ${DELETE_BATCH})`;
      total += deleted;
      if (deleted < DELETE_BATCH) return total;
    }
  }

  private async expireEvents(retentionMs: number): Promise<number> {
    let total = 0;
    for (;;) {
      const deleted = await this.prisma.$executeRaw`
        DELETE FROM "ClusterEvent" WHERE "id" IN (
          SELECT "id" FROM "ClusterEvent" WHERE "time" < now() - ${retentionMs}::bigint * interval '1 millisecond' LIMIT ${DELETE_BATCH})`;
      total += deleted;
      if (deleted < DELETE_BATCH) return total;
    }
  }

  async onApplicationShutdown() {
    await this.stop();
  }
}
