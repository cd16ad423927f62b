import { randomUUID } from 'node:crypto';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { createScratchDatabase, openDatabase, PrismaClient } from '@berth/db';
import type { BenchContext } from './context.js';
import { log, section, type SectionResult } from './report.js';
import { gatewayHistoryCalls } from './gateway.queries.js';
import { ms, now, summarize, withSpread } from './stats.js';

const GOAL_MS = 50;
const APPS = 1000;
const PROGRESS_PER_OPERATION = 10;
const METRIC_SERVICES = 100;
/** Raw samples every 15 s (BERTH_METRICS_INTERVAL's default) for 24 h. */
const RAW_PER_SERVICE = (24 * 3600) / 15;
const RUNS = 20;

interface Captured {
  query: string;
  params: string;
}

/** Fills the scratch database with generate_series: fast, and the same shape the gateway writes. */
async function fill(db: pg.Client, rows: number, clusterId: string): Promise<{ table: string; rows: number; ms: number }[]> {
  const operations = Math.round(rows / PROGRESS_PER_OPERATION);
  const perApp = Math.max(1, Math.round(operations / APPS));
  const perService = Math.round(rows / METRIC_SERVICES);
  const raw = Math.min(perService, RAW_PER_SERVICE);
  const minute = perService - raw;
  const steps: [string, string, unknown[]][] = [
    [
      'Cluster',
      `INSERT INTO "Cluster" (id, name, kind, endpoint, credentials, "keyId", "updatedAt") VALUES ($1, 'bench', 'swarm', 'unix:///var/run/docker.sock', '\\x00', 'bench', now())`,
      [clusterId],
    ],
    [
      'App',
      `INSERT INTO "App" (id, "clusterId", name, "currentRevision", "createdAt", "updatedAt")
       SELECT gen_random_uuid(), $1::uuid, 'app' || lpad(i::text, 4, '0'), $2::int, now() - interval '60 days', now() FROM generate_series(0, $3::int - 1) i`,
      [clusterId, perApp, APPS],
    ],
    [
      'Revision',
      `INSERT INTO "Revision" (id, "appId", number, spec, "specHash", source, author, "createdAt")
       SELECT gen_random_uuid(), a.id, n,
              jsonb_build_object('name', a.name, 'services', jsonb_build_object('web', jsonb_build_object('image', 'berth-test/http:' || n, 'replicas', 3, 'env', jsonb_build_object('REVISION', n::text)))),
              md5(a.name || n), 'api', 'token:bench', now() - (($2::int - n) * interval '1 hour')
       FROM "App" a, generate_series(1, $2::int) n WHERE a."clusterId" = $1::uuid`,
      [clusterId, perApp],
    ],
    [
      'Operation',
      `INSERT INTO "Operation" (id, "clusterId", "appId", service, kind, status, requester, request, "fromRevision", "toRevision", "createdAt", "startedAt", "finishedAt", "updatedAt")
       SELECT gen_random_uuid(), $1::uuid, app_id, 'web', 'update', 'succeeded', 'token:bench', jsonb_build_object('image', 'berth-test/http:' || n), n - 1, n, t, t, t + interval '20 seconds', t + interval '20 seconds'
       FROM (SELECT a.id AS app_id, n, now() - random() * interval '30 days' AS t FROM "App" a, generate_series(1, $2::int) n WHERE a."clusterId" = $1::uuid) spread`,
      [clusterId, perApp],
    ],
    [
      'OperationProgress',
      `INSERT INTO "OperationProgress" ("operationId", time, service, phase, message, "replicasUpdated", "replicasReady", "replicasTotal", "batchesDone", "batchesTotal")
       SELECT o.id, o."createdAt" + k * interval '2 seconds', 'web',
              CASE k WHEN 0 THEN 'started' WHEN $1::int - 1 THEN 'finished' ELSE 'progressing' END,
              'batch ' || k, k, k, $1::int, k, $1::int
       FROM "Operation" o, generate_series(0, $1::int - 1) k`,
      [PROGRESS_PER_OPERATION],
    ],
    [
      'MetricSample (raw, every 15 s)',
      `INSERT INTO "MetricSample" ("clusterId", resolution, time, app, service, replica, node, "cpuCores", "memoryBytes", "netRxBytes", "netTxBytes", "blockReadBytes", "blockWriteBytes")
       SELECT $1::uuid, 'raw', now() - k * interval '15 seconds', 'app' || lpad((s / 10)::text, 4, '0'), 'svc' || (s % 10), 'r-' || s || '.1', 'node-1',
              random(), (50000000 + random() * 1000000)::bigint, k * 1000, k * 800, k * 10, k * 20
       FROM generate_series(0, $2::int - 1) s, generate_series(0, $3::int - 1) k`,
      [clusterId, METRIC_SERVICES, raw],
    ],
    [
      'MetricSample (minute rollups)',
      `INSERT INTO "MetricSample" ("clusterId", resolution, time, app, service, replica, node, "cpuCores", "memoryBytes", "netRxBytes", "netTxBytes", "blockReadBytes", "blockWriteBytes")
       SELECT $1::uuid, 'minute', date_trunc('minute', now()) - k * interval '1 minute', 'app' || lpad((s / 10)::text, 4, '0'), 'svc' || (s % 10), 'r-' || s || '.1', 'node-1',
              random(), (50000000 + random() * 1000000)::bigint, k * 4000, k * 3200, k * 40, k * 80
       FROM generate_series(0, $2::int - 1) s, generate_series(0, $3::int - 1) k`,
      [clusterId, METRIC_SERVICES, minute],
    ],
  ];
  const out: { table: string; rows: number; ms: number }[] = [];
  for (const [table, sql, params] of steps) {
    const started = now();
    const r = await db.query(sql, params);
    out.push({ table, rows: r.rowCount ?? 0, ms: now() - started });
    log(`history: ${table}: ${r.rowCount} rows in ${((now() - started) / 1000).toFixed(1)} s`);
  }
  const started = now();
  // what autovacuum does soon after a bulk load: statistics and the visibility map
  await db.query('VACUUM ANALYZE');
  out.push({ table: 'VACUUM ANALYZE', rows: 0, ms: now() - started });
  return out;
}

/** Item 5: the history queries at 1,000,000 rows, timed through Prisma, with their plans. */
export async function historyBench(ctx: BenchContext): Promise<SectionResult> {
  const rows = ctx.options.historyRows;
  const result = section(
    `5. History at scale: ${rows.toLocaleString('en-US')} operation-progress rows and ${rows.toLocaleString('en-US')} metric rows (Postgres)`,
    ['query', 'rows', `Prisma p50 ms (IQR), n=${RUNS}`, 'p99 ms', 'EXPLAIN ANALYZE exec ms', 'index used'],
  );
  const scratch = await createScratchDatabase(ctx.options.databaseUrl, 'berth_bench_history');
  const db = new pg.Client({ connectionString: scratch.url });
  let prisma: PrismaClient | undefined;
  const plans: string[] = [];
  try {
    const migrated = await openDatabase({ kind: 'postgres', url: scratch.url });
    await migrated.close();
    await db.connect();
    const clusterId = randomUUID();
    log(`history: writing ${rows} progress and ${rows} metric rows with generate_series`);
    const filled = await fill(db, rows, clusterId);
    result.notes.push(
      `bulk load: ${filled.map((f) => `${f.table} ${f.rows ? `${f.rows.toLocaleString('en-US')} rows ` : ''}${(f.ms / 1000).toFixed(1)} s`).join('; ')}`,
    );
    const appId = (await db.query(`SELECT id FROM "App" WHERE name = 'app0500'`)).rows[0].id as string;
    await db.query(`UPDATE "App" SET "currentRevision" = (SELECT max(number) FROM "Revision" WHERE "appId" = "App".id)`);
    const operationId = (await db.query(`SELECT id FROM "Operation" WHERE "appId" = $1 ORDER BY "createdAt" DESC LIMIT 1`, [appId])).rows[0].id as string;

    const captured: Captured[] = [];
    prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: scratch.url }), log: [{ emit: 'event', level: 'query' }] });
    (prisma as unknown as { $on(e: 'query', cb: (e: Captured) => void): void }).$on('query', (e) => captured.push({ query: e.query, params: e.params }));
    await prisma.$connect();
    // The gateway's own services run the queries: the benchmark times what the API runs, not a copy.
    const calls = await gatewayHistoryCalls(prisma, {
      clusterId,
      clusterName: 'bench',
      appName: 'app0500',
      appId,
      operationId,
      metricApp: 'app0004',
      metricService: 'svc2',
    });
    result.notes.push(`The queries are run by the gateway's own services loaded from apps/gateway/dist (${calls.map((c) => c.source).join('; ')}).`);
    for (const q of calls) {
      for (let i = 0; i < 3; i++) await q.run();
      const times: number[] = [];
      let count = 0;
      for (let i = 0; i < RUNS; i++) {
        captured.length = 0;
        const started = now();
        const value = await q.run();
        times.push(now() - started);
        count = Array.isArray(value) ? value.length : 0;
      }
      const statements = [...captured];
      const s = summarize(times);
      let execMs = 0;
      const indexes = new Set<string>();
      const seqScans = new Set<string>();
      for (const st of statements) {
        const params = JSON.parse(st.params) as unknown[];
        const explained = await db.query(`EXPLAIN (ANALYZE, BUFFERS) ${st.query}`, params);
        const plan = explained.rows.map((r: Record<string, string>) => r['QUERY PLAN']).join('\n');
        execMs += Number(/Execution Time: ([\d.]+) ms/.exec(plan)?.[1] ?? 0);
        for (const m of plan.matchAll(/(?:Index (?:Only )?Scan(?: Backward)? using|Bitmap Index Scan on) "?([\w]+)"?/g)) indexes.add(m[1]!);
        for (const m of plan.matchAll(/Seq Scan on "?(\w+)"?/g)) seqScans.add(m[1]!);
        plans.push(`-- ${q.name}\n${st.query}\n-- params ${st.params}\n${plan}`);
      }
      const onBigTable = [...seqScans].filter((t) => t === q.table);
      result.rows.push([
        q.name,
        String(count),
        withSpread(s),
        ms(s.p99),
        ms(execMs),
        [...indexes].join(', ') + (onBigTable.length ? ` SEQ SCAN on ${onBigTable.join(', ')}` : ''),
      ]);
      result.goals.push({
        goal: `history: ${q.name} < ${GOAL_MS} ms, served by an index`,
        measured: `${ms(s.p50)} ms p50 (p99 ${ms(s.p99)}), plan: ${onBigTable.length ? `sequential scan of ${q.table}` : `index ${[...indexes].join(', ') || '(none)'}`}`,
        met: s.p50 < GOAL_MS && onBigTable.length === 0 && indexes.size > 0,
      });
    }
    result.notes.push(
      `Data: ${APPS} apps with ${Math.round(rows / PROGRESS_PER_OPERATION / APPS)} revisions and operations each, ${PROGRESS_PER_OPERATION} progress rows per operation; ${METRIC_SERVICES} services with raw samples every 15 s for the last 24 h and minute rollups for the last ${Math.max(0, Math.round((rows / METRIC_SERVICES - RAW_PER_SERVICE) / 60))} h; VACUUM ANALYZE after the load (autovacuum's job on a live database).`,
      'Prisma p50/p99: the query as the gateway issues it, through the same Prisma client and pg adapter, measured in this process (includes row decoding). EXPLAIN: the SQL Prisma sent, with its parameters, run with EXPLAIN (ANALYZE, BUFFERS); plans follow the tables.',
    );
  } finally {
    await prisma?.$disconnect().catch(() => undefined);
    await db.end().catch(() => undefined);
    await scratch.drop().catch(() => undefined);
  }
  result.data = { plans };
  (result as SectionResult & { plans?: string[] }).plans = plans;
  return result;
}
