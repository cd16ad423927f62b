import { Inject, Injectable } from '@nestjs/common';
import type { PrismaClient } from '@berth/db';
import { parseOrThrow } from '@berth/model';
import { BerthError } from '../../common/errors.js';
import { type Principal, requestContext } from '../../common/request-context.js';
import { CONFIG, type Config } from '../../config/config.js';
import { PRISMA } from '../../database/database.module.js';
import { ClustersService } from '../../clusters/clusters.service.js';
import { MonitoringSupervisor } from '../monitoring-supervisor.service.js';
import { mayRead, requireVisible } from '../scope.js';
import { type MetricPoint, type MetricsAnswer, MetricsQuerySchema } from './metric.schemas.js';

type Resolution = 'raw' | 'minute' | 'hour';
const MAX_POINTS = 1_500;
const DEFAULT_POINTS = 120;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

interface BucketRow {
  bucket: Date;
  app: string | null;
  service: string | null;
  replica: string;
  cpu: number;
  cpuMax: number;
  mem: number;
  memMax: number;
  memLimit: number | null;
  netRx: number;
  netTx: number;
  blkRead: number;
  blkWrite: number;
  samples: number;
}

const formatStep = (ms: number) =>
  ms % 3_600_000 === 0 ? `${ms / 3_600_000}h` : ms % 60_000 === 0 ? `${ms / 60_000}m` : ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;

/**
 * Metrics history by app, service and time range, answered from the coarsest stored resolution
 * that is fine enough for the step and still holds the start of the range; the newest steps, which
 * that resolution has not rolled up yet, come from the finer resolutions, so a range ending now
 * has no hole at its end.
 */
@Injectable()
export class MetricsHistoryService {
  constructor(
    @Inject(PRISMA) private readonly prisma: PrismaClient,
    private readonly clusters: ClustersService,
    private readonly supervisor: MonitoringSupervisor,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  /** Which stored resolution answers a range starting at `from` with points `stepMs` apart. */
  resolutionFor(from: Date, stepMs: number, now = Date.now()): Resolution {
    const { retentionMs, bucketMs, intervalMs } = this.config.monitoring.metrics;
    const width: Record<Resolution, number> = { raw: intervalMs, minute: bucketMs.minute, hour: bucketMs.hour };
    const fineEnough = (['hour', 'minute', 'raw'] as const).filter((r) => r === 'raw' || width[r] <= stepMs);
    return fineEnough.find((r) => now - retentionMs[r] <= from.getTime()) ?? fineEnough[0]!;
  }

  async query(raw: unknown, principal: Principal | undefined = requestContext.principal()): Promise<MetricsAnswer> {
    const q = parseOrThrow(MetricsQuerySchema, raw, 'query');
    const cluster = await this.clusters.find(q.cluster);
    requireVisible(principal, cluster, q.cluster);
    const to = q.to ?? new Date();
    let from = q.from ?? new Date(to.getTime() - 3_600_000);
    if (from >= to) throw BerthError.invalid('"from" must be before "to"', [{ path: 'from', message: 'must be before "to"' }]);
    const stepMs = q.step
      ? Number(/^\d+/.exec(q.step)![0]) * UNIT_MS[/[a-z]+$/.exec(q.step)![0]]!
      : Math.max(1000, Math.ceil((to.getTime() - from.getTime()) / DEFAULT_POINTS / 1000) * 1000);
    if (stepMs < 1000) throw BerthError.invalid('step must be at least 1s', [{ path: 'step', message: 'at least 1s' }]);
    const points = (to.getTime() - from.getTime()) / stepMs;
    if (points > MAX_POINTS) {
      throw BerthError.invalid(`the range holds ${Math.ceil(points)} steps of ${formatStep(stepMs)}; at most ${MAX_POINTS}: give a larger step`, [
        { path: 'step', message: 'too small for the range' },
      ]);
    }
    // steps start on the same grid as the rollup buckets, so a bucket never straddles two steps
    from = new Date(Math.floor(from.getTime() / stepMs) * stepMs);
    const resolution = this.resolutionFor(from, stepMs);
    // a token granted single apps sees only their series
    const rows = (await this.buckets(cluster.id, resolution, from, to, stepMs, q.app, q.service)).filter((r) => mayRead(principal, cluster.id, r.app));
    const collection = await this.collection(cluster.id, principal);
    return {
      cluster: cluster.name,
      from: from.toISOString(),
      to: to.toISOString(),
      step: formatStep(stepMs),
      stepMs,
      resolution,
      series: this.series(rows, stepMs, q.by),
      collection,
    };
  }

  private async collection(clusterId: string, principal: Principal | undefined): Promise<MetricsAnswer['collection']> {
    const view = await this.supervisor.view(principal);
    const c = view.clusters.find((x) => x.clusterId === clusterId);
    if (!c?.owner || !c.metrics) {
      return this.config.monitoring.enabled
        ? { state: 'not-running', message: 'no gateway replica collects this cluster yet' }
        : { state: 'disabled', message: 'monitoring is off on this replica (BERTH_MONITORING=false) and no other replica collects this cluster' };
    }
    return {
      state: c.metrics.state,
      ...(c.metrics.message ? { message: c.metrics.message } : {}),
      owner: c.owner,
      ...(c.metrics.lastSampleAt ? { lastSampleAt: c.metrics.lastSampleAt } : {}),
    };
  }

  /** Per replica and step, from the chosen resolution and, after its watermark, the finer ones. */
  private async buckets(clusterId: string, resolution: Resolution, from: Date, to: Date, stepMs: number, app?: string, service?: string): Promise<BucketRow[]> {
    const { bucketMs } = this.config.monitoring.metrics;
    // the start of what each rollup has not covered yet (its newest bucket's end)
    const marks = await this.prisma.$queryRaw<{ minute: Date | null; hour: Date | null }[]>`
      SELECT
        (SELECT max("time") + ${bucketMs.minute}::int * interval '1 millisecond' FROM "MetricSample" WHERE "clusterId" = ${clusterId}::uuid AND "resolution" = 'minute') AS "minute",
        (SELECT max("time") + ${bucketMs.hour}::int * interval '1 millisecond' FROM "MetricSample" WHERE "clusterId" = ${clusterId}::uuid AND "resolution" = 'hour') AS "hour"`;
    const far = new Date(0);
    const minuteMark = marks[0]?.minute ?? far;
    const hourMark = marks[0]?.hour ?? far;
    // [start, end) of each source resolution
    const parts: [Resolution, Date, Date][] =
      resolution === 'hour'
        ? [
            ['hour', from, hourMark],
            ['minute', hourMark, minuteMark],
            ['raw', minuteMark, to],
          ]
        : resolution === 'minute'
          ? [
              ['minute', from, minuteMark],
              ['raw', minuteMark, to],
            ]
          : [['raw', from, to]];
    const clamp = (d: Date) => new Date(Math.min(Math.max(d.getTime(), from.getTime()), to.getTime()));
    const ranges = parts.map(([r, a, b]) => ({ r, a: clamp(a), b: clamp(b) }));
    const [hr, mr, rr] = [ranges.find((x) => x.r === 'hour'), ranges.find((x) => x.r === 'minute'), ranges.find((x) => x.r === 'raw')!];
    const none = { a: from, b: from };
    const h = hr ?? none;
    const m = mr ?? none;
    return this.prisma.$queryRaw<BucketRow[]>`
      WITH src AS (
        SELECT * FROM "MetricSample" WHERE "clusterId" = ${clusterId}::uuid AND "resolution" = 'hour' AND "time" >= ${h.a} AND "time" < ${h.b}
        UNION ALL
        SELECT * FROM "MetricSample" WHERE "clusterId" = ${clusterId}::uuid AND "resolution" = 'minute' AND "time" >= ${m.a} AND "time" < ${m.b}
        UNION ALL
        SELECT * FROM "MetricSample" WHERE "clusterId" = ${clusterId}::uuid AND "resolution" = 'raw' AND "time" >= ${rr.a} AND "time" < ${rr.b}
      )
      SELECT date_bin(${stepMs}::bigint * interval '1 millisecond', "time", timestamptz '1970-01-01 00:00:00+00') AS "bucket",
        "app", "service", "replica",
        sum("cpuCores" * "samples") / sum("samples") AS "cpu",
        max(coalesce("cpuCoresMax", "cpuCores")) AS "cpuMax",
        (sum("memoryBytes"::numeric * "samples") / sum("samples"))::float8 AS "mem",
        max(coalesce("memoryMaxBytes", "memoryBytes"))::float8 AS "memMax",
        max("memoryLimitBytes")::float8 AS "memLimit",
        max("netRxBytes")::float8 AS "netRx", max("netTxBytes")::float8 AS "netTx",
        max("blockReadBytes")::float8 AS "blkRead", max("blockWriteBytes")::float8 AS "blkWrite",
        sum("samples")::int AS "samples"
      FROM src
      WHERE (${app ?? null}::text IS NULL OR "app" = ${app ?? null}::text) AND (${service ?? null}::text IS NULL OR "service" = ${service ?? null}::text)
      GROUP BY 1, "app", "service", "replica"
      ORDER BY 1, "app", "service", "replica"`;
  }

  /** Groups per-replica steps into series; byte rates come from each replica's own counter. */
  private series(rows: BucketRow[], stepMs: number, by: 'service' | 'replica'): MetricsAnswer['series'] {
    const prev = new Map<string, BucketRow>();
    const series = new Map<string, { app?: string; service?: string; replica?: string; points: Map<number, MetricPoint> }>();
    for (const row of rows) {
      const replicaKey = `${row.app ?? ''}/${row.service ?? ''}/${row.replica}`;
      const key = by === 'replica' ? replicaKey : `${row.app ?? ''}/${row.service ?? ''}`;
      let s = series.get(key);
      if (!s) {
        s = {
          ...(row.app ? { app: row.app } : {}),
          ...(row.service ? { service: row.service } : {}),
          ...(by === 'replica' ? { replica: row.replica } : {}),
          points: new Map(),
        };
        series.set(key, s);
      }
      const t = row.bucket.getTime();
      let p = s.points.get(t);
      if (!p) {
        p = { time: row.bucket.toISOString(), cpuCores: 0, cpuCoresMax: 0, memoryBytes: 0, memoryMaxBytes: 0, replicas: 0, samples: 0 };
        s.points.set(t, p);
      }
      p.cpuCores += row.cpu;
      p.cpuCoresMax += row.cpuMax;
      p.memoryBytes += row.mem;
      p.memoryMaxBytes += row.memMax;
      if (row.memLimit !== null) p.memoryLimitBytes = (p.memoryLimitBytes ?? 0) + row.memLimit;
      p.replicas += 1;
      p.samples += row.samples;
      // a counter that went down belongs to a new container under the same name: no rate for that step
      const before = prev.get(replicaKey);
      prev.set(replicaKey, row);
      if (
        before &&
        t - before.bucket.getTime() === stepMs &&
        row.netRx >= before.netRx &&
        row.netTx >= before.netTx &&
        row.blkRead >= before.blkRead &&
        row.blkWrite >= before.blkWrite
      ) {
        const perSecond = (a: number, b: number) => ((a - b) * 1000) / stepMs;
        p.netRxBytesPerSecond = (p.netRxBytesPerSecond ?? 0) + perSecond(row.netRx, before.netRx);
        p.netTxBytesPerSecond = (p.netTxBytesPerSecond ?? 0) + perSecond(row.netTx, before.netTx);
        p.blockReadBytesPerSecond = (p.blockReadBytesPerSecond ?? 0) + perSecond(row.blkRead, before.blkRead);
        p.blockWriteBytesPerSecond = (p.blockWriteBytesPerSecond ?? 0) + perSecond(row.blkWrite, before.blkWrite);
      }
    }
    return [...series.values()].map((s) => ({
      ...(s.app ? { app: s.app } : {}),
      ...(s.service ? { service: s.service } : {}),
      ...(s.replica ? { replica: s.replica } : {}),
      points: [...s.points.values()],
    }));
  }
}
