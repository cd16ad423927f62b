import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createClient } from 'graphql-ws';
import parsePrometheus from 'parse-prometheus-text-format';
import WebSocket from 'ws';
import { createScratchDatabase, openDatabase, type Database } from '@berth/db';
import { EventWatcherService } from '../src/monitoring/events/event-watcher.service.js';
import { createVolumes, removeVolumes, removeVolumesWithPrefix } from './docker-api.js';
import { ADMIN_TOKEN, type RunningGateway, startGateway } from './harness.js';
import { sseEvents } from './sse.js';

/**
 * Events, metrics history, logs and /metrics against the real Swarm engine and a real Postgres,
 * with short intervals and retention so rollups and expiry happen within the test.
 */
const swarm = process.env.BERTH_SKIP_SWARM !== '1';
if (!swarm) console.warn('\n*** monitoring tests on swarm are SKIPPED (BERTH_SKIP_SWARM=1) ***\n');

const ENV = {
  BERTH_MONITORING_LEASE_TTL: '3s',
  BERTH_EVENTS_FLUSH: '100ms',
  BERTH_EVENTS_POLL: '200ms',
  BERTH_METRICS_INTERVAL: '1s',
  BERTH_METRICS_ROLLUP_INTERVAL: '1s',
  BERTH_METRICS_MINUTE_BUCKET: '2s',
  BERTH_METRICS_HOUR_BUCKET: '6s',
  BERTH_METRICS_RETENTION_RAW: '10s',
  BERTH_METRICS_RETENTION_MINUTE: '40s',
  BERTH_METRICS_RETENTION_HOUR: '1h',
  BERTH_LOG_LEVEL: 'info',
};

async function until<T>(what: string, read: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 30_000, everyMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T;
  do {
    last = await read();
    if (ok(last)) return last;
    await sleep(everyMs);
  } while (Date.now() < deadline);
  throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(last).slice(0, 2000)}`);
}

/** Reads an SSE stream in the background, stamping each event with when it arrived. */
function sseReader(url: string, token = ADMIN_TOKEN) {
  const abort = new AbortController();
  const events: { event: string; id?: string; data: any; at: number }[] = [];
  const opened = fetch(url, { signal: abort.signal, headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' } }).then(async (res) => {
    if (!res.ok || !res.body) throw new Error(`SSE ${url}: ${res.status} ${await res.text()}`);
    return res;
  });
  const done = opened
    .then(async (res) => {
      for await (const e of sseEvents(res)) events.push({ ...e, at: Date.now() });
    })
    .catch((e: unknown) => {
      if (!abort.signal.aborted) throw e;
    });
  return { events, opened, close: () => abort.abort(), done };
}

/** A GraphQL subscription collecting what it receives until stopped. */
function subscribe(url: string, query: string) {
  const client = createClient({
    url: url.replace(/^http/, 'ws') + '/graphql',
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${ADMIN_TOKEN}` },
    retryAttempts: 0,
  });
  const items: { data: any; at: number }[] = [];
  const errors: unknown[] = [];
  const stop = client.subscribe(
    { query },
    { next: (r) => (r.errors ? errors.push(r.errors) : items.push({ data: r.data, at: Date.now() })), error: (e) => errors.push(e), complete: () => undefined },
  );
  return {
    items,
    errors,
    async close() {
      stop();
      await client.dispose();
    },
  };
}

(swarm ? describe : describe.skip)('monitoring on swarm', () => {
  let gw: RunningGateway;
  let db: Database;
  let dataDir: string;
  let dbUrl: string;
  let dropDb: () => Promise<void> = async () => {};
  const app = `mon-${Date.now().toString(36)}`;
  /** Volume name prefixes the tests create, removed at the end even if a test stopped half way. */
  const volumePrefixes: string[] = [];
  let clusterId: string;
  let updateOp: string;

  const monitoring = async () => (await gw.call('GET', '/v1/monitoring')).body;
  const streaming = () => until('the event watcher to stream', monitoring, (m) => m.clusters?.[0]?.events?.state === 'streaming');

  beforeAll(async () => {
    const scratch = await createScratchDatabase(process.env.DATABASE_URL!, 'berth_monitoring');
    dropDb = scratch.drop;
    dbUrl = scratch.url;
    dataDir = await mkdtemp(path.join(tmpdir(), 'berth-mon-'));
    gw = await startGateway({ ...ENV, DATABASE_URL: dbUrl, BERTH_DATA_DIR: dataDir });
    db = await openDatabase({ kind: 'postgres', url: dbUrl }, { migrate: false });
    const registered = await gw.call('POST', '/v1/clusters', {
      name: 'c1',
      kind: 'swarm',
      socketPath: process.env.BERTH_DOCKER_SOCKET ?? '/var/run/docker.sock',
    });
    expect(registered.status).toBe(201);
    clusterId = registered.body.id;
    await streaming();
  }, 60_000);

  afterAll(async () => {
    await gw?.call('DELETE', `/v1/clusters/c1/apps/${app}?wait=true`).catch(() => undefined);
    for (const prefix of volumePrefixes) await removeVolumesWithPrefix(prefix).catch(() => undefined);
    await gw?.close();
    await db?.close();
    await dropDb();
  });

  it("records a rollout's task events linked to its operation, live over SSE and GraphQL as they are stored", async () => {
    const sse = sseReader(`${gw.url}/v1/events/stream?cluster=c1&app=${app}&service=web`);
    await sse.opened;
    const sub = subscribe(gw.url, `subscription { clusterEvent(cluster: "c1", app: "${app}", service: "web") { id time kind action service operationId } }`);
    const applied = await gw.call('POST', '/v1/clusters/c1/apps?wait=true', {
      name: app,
      services: {
        web: { image: 'berth-test/http:1', replicas: 2, update: { parallelism: 2, delay: '0s', monitor: '1s' } },
        ticker: {
          image: 'berth-test/busybox:1',
          replicas: 2,
          command: ['sh', '-c', 'trap "exit 0" TERM; i=0; while true; do echo "tick $i from $(hostname)"; i=$((i+1)); sleep 0.5; done'],
        },
      },
    });
    expect(applied.body.operation).toMatchObject({ kind: 'apply', status: 'succeeded' });
    const update = await gw.call('PATCH', `/v1/clusters/c1/apps/${app}/services/web?wait=true`, { image: 'berth-test/http:2' });
    expect(update.body.operation).toMatchObject({ kind: 'update', status: 'succeeded' });
    updateOp = update.body.operation.id;

    // old tasks stop and new ones start: each is a container event carrying its task id
    const linked = await until(
      "the rollout's container events",
      async () => (await gw.call('GET', `/v1/events?cluster=c1&app=${app}&service=web&operation=${updateOp}&kind=container&order=asc&limit=1000`)).body.items,
      (items: any[]) => items.filter((e) => e.action === 'start').length >= 2 && items.filter((e) => e.action === 'die').length >= 2,
    );
    for (const e of linked) expect(e.attributes['com.docker.swarm.task.id']).toBeTruthy();
    const started = linked.filter((e: any) => e.action === 'start').map((e: any) => e.attributes.image);
    expect(started).toEqual(['berth-test/http:2', 'berth-test/http:2']);
    const stopped = linked.filter((e: any) => e.action === 'die').map((e: any) => e.attributes.image);
    expect(stopped).toEqual(['berth-test/http:1', 'berth-test/http:1']);

    // every web container event inside the update's lifetime is linked to it; the first tasks belong to the apply
    const op = (await gw.call('GET', `/v1/operations/${updateOp}`)).body;
    const all = (await gw.call('GET', `/v1/events?cluster=c1&app=${app}&service=web&kind=container&order=asc&limit=1000`)).body.items;
    const during = all.filter((e: any) => e.time >= op.createdAt && e.time <= op.finishedAt);
    expect(during.length).toBeGreaterThanOrEqual(4);
    expect(during.every((e: any) => e.operationId === updateOp)).toBe(true);
    const firstStarts = all.filter((e: any) => e.action === 'start' && e.attributes.image === 'berth-test/http:1');
    expect(firstStarts.map((e: any) => e.operationId)).toEqual([applied.body.operation.id, applied.body.operation.id]);

    // what history holds was also streamed live, once each, in order, over both transports
    const ids: string[] = all.map((e: any) => e.id).sort((a: string, b: string) => Number(BigInt(a) - BigInt(b)));
    await until(
      'the SSE stream to catch up',
      async () => sse.events.length,
      (n) => n >= ids.length,
      10_000,
    );
    await until(
      'the subscription to catch up',
      async () => sub.items.length,
      (n) => n >= ids.length,
      10_000,
    );
    const sseIds = sse.events.filter((e) => e.event === 'cluster-event').map((e) => e.data.id);
    expect(sseIds.filter((id) => ids.includes(id))).toEqual(ids);
    expect(new Set(sseIds).size).toBe(sseIds.length);
    expect(sse.events.every((e) => e.id === e.data.id)).toBe(true);
    const gqlIds = sub.items.map((i) => i.data.clusterEvent.id);
    expect(gqlIds.filter((id) => ids.includes(id))).toEqual(ids);
    expect(sub.errors).toEqual([]);
    const latencies = sse.events.map((e) => e.at - Date.parse(e.data.time)).sort((a, b) => a - b);
    console.log(
      `event latency orchestrator -> SSE subscriber over ${latencies.length} events: median ${latencies[latencies.length >> 1]} ms, max ${latencies.at(-1)} ms`,
    );
    sse.close();
    await sub.close();
    await sse.done;

    // a reconnecting SSE client (Last-Event-ID) gets exactly what it missed
    const replay = sseReader(`${gw.url}/v1/events/stream?cluster=c1&app=${app}&service=web&kind=container&after=${ids[1]}`);
    await until(
      'the replay',
      async () => replay.events.length,
      (n) => n >= ids.length - 2,
      10_000,
    );
    expect(replay.events.slice(0, ids.length - 2).map((e) => e.data.id)).toEqual(ids.slice(2));
    replay.close();
    await replay.done;
  }, 120_000);

  it('accumulates samples of the running service, rolls them up and expires each resolution by its retention', async () => {
    type Row = { resolution: string; time: Date; replica: string; samples: number; memoryBytes: bigint };
    const rows = () =>
      db.prisma.metricSample.findMany({
        where: { clusterId, app, service: 'ticker' },
        orderBy: { time: 'asc' },
        select: { resolution: true, time: true, replica: true, samples: true, memoryBytes: true },
      }) as Promise<Row[]>;
    const bucketOf = (t: Date) => Math.floor(t.getTime() / 2000) * 2000;
    // Per replica, the first 2 s bucket whose raw samples are all still stored (expiry removes the
    // oldest first, so the bucket after the oldest sample's) and complete (a later sample exists).
    const pick = (r: Row[]) => {
      const byReplica = new Map<string, Row[]>();
      for (const x of r.filter((x) => x.resolution === 'raw')) byReplica.set(x.replica, [...(byReplica.get(x.replica) ?? []), x]);
      return [...byReplica].map(([replica, own]) => {
        const bucket = own.map((x) => bucketOf(x.time)).find((b) => b > bucketOf(own[0]!.time));
        return {
          replica,
          bucket: bucket ?? 0,
          raw: own.filter((x) => bucketOf(x.time) === bucket),
          complete: bucket !== undefined && own.some((x) => bucketOf(x.time) > bucket),
        };
      });
    };
    const chosen = pick(await until('raw samples of both ticker replicas', rows, (r) => pick(r).filter((p) => p.complete).length === 2));
    const rolled = await until(
      'minute rollups of those buckets, and hour rollups',
      rows,
      (r) =>
        chosen.every((c) => r.some((x) => x.resolution === 'minute' && x.replica === c.replica && x.time.getTime() === c.bucket)) &&
        r.some((x) => x.resolution === 'hour'),
      40_000,
      500,
    );
    for (const c of chosen) {
      const roll = rolled.find((x) => x.resolution === 'minute' && x.replica === c.replica && x.time.getTime() === c.bucket)!;
      expect(roll.samples).toBe(c.raw.length);
      const avg = c.raw.reduce((n, x) => n + Number(x.memoryBytes), 0) / c.raw.length;
      expect(Math.abs(Number(roll.memoryBytes) - avg)).toBeLessThanOrEqual(1);
    }
    const hour = rolled.filter((r) => r.resolution === 'hour');
    expect(hour.every((h) => h.samples >= 1 && h.time.getTime() % 6000 === 0)).toBe(true);

    // raw rows older than 10 s go (once rolled up); the minute rollups of the same time stay
    const last = Math.max(...chosen.map((c) => c.bucket));
    const expired = await until(
      'raw samples to expire',
      rows,
      (r) => !r.some((x) => x.resolution === 'raw' && x.time.getTime() < last + 2000) && r.some((x) => x.resolution === 'raw'),
      40_000,
      500,
    );
    const oldestRaw = expired.find((r) => r.resolution === 'raw')!;
    expect(Date.now() - oldestRaw.time.getTime()).toBeLessThan(10_000 + 6_000);
    for (const c of chosen) expect(expired.some((x) => x.resolution === 'minute' && x.replica === c.replica && x.time.getTime() === c.bucket)).toBe(true);

    // the history API answers from the right resolution, per replica or per service
    const from = new Date(last).toISOString();
    const q = async (qs: string) => (await gw.call('GET', `/v1/metrics?cluster=c1&app=${app}&service=ticker&from=${from}&${qs}`)).body;
    const fine = await q('step=1s&by=replica');
    expect(fine).toMatchObject({ resolution: 'raw', collection: { state: 'collecting' } });
    const coarse = await q('step=2s&by=replica');
    expect(coarse.resolution).toBe('minute');
    expect(coarse.series.map((s: any) => s.replica).sort()).toEqual(chosen.map((c) => c.replica).sort());
    const latest = chosen.find((c) => c.bucket === last)!;
    const point = coarse.series.find((s: any) => s.replica === latest.replica).points.find((p: any) => p.time === from);
    expect(point).toMatchObject({ samples: latest.raw.length, replicas: 1 });
    expect(coarse.series.every((s: any) => s.points.every((p: any) => p.memoryBytes > 0))).toBe(true);
    const perService = await q('step=6s');
    expect(perService.resolution).toBe('hour');
    expect(perService.series).toEqual([expect.objectContaining({ app, service: 'ticker' })]);
    expect(Math.max(...perService.series[0].points.map((p: any) => p.replicas))).toBe(2);
    const tooFine = await gw.call('GET', `/v1/metrics?cluster=c1&from=2020-01-01T00:00:00Z&step=1s`);
    expect(tooFine.status).toBe(400);
    expect(tooFine.body.error.details[0].path).toBe('step');
  }, 120_000);

  it('streams the logs of a two-replica service with replica ids and times, over REST and GraphQL', async () => {
    const res = await fetch(`${gw.url}/v1/clusters/c1/apps/${app}/services/ticker/logs?tail=3`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(res.headers.get('content-type')).toContain('application/x-ndjson');
    const lines = (await res.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(new Set(lines.map((l) => l.replica))).toEqual(new Set(['1', '2']));
    expect(lines.every((l) => /^tick \d+ from /.test(l.line) && !Number.isNaN(Date.parse(l.time)) && l.stream === 'stdout')).toBe(true);

    // since: only what both replicas wrote in the last 3 s (they write every 0.5 s)
    const asked = Date.now();
    const recent = await fetch(`${gw.url}/v1/clusters/c1/apps/${app}/services/ticker/logs?since=3s`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    const recentLines = (await recent.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(new Set(recentLines.map((l) => l.replica))).toEqual(new Set(['1', '2']));
    expect(recentLines.length).toBeLessThan(30);
    expect(recentLines.every((l) => Date.parse(l.time) >= asked - 3_000 - 500)).toBe(true);

    // follow: new lines of both replicas keep coming until the client leaves
    const followed = sseReader(`${gw.url}/v1/clusters/c1/apps/${app}/services/ticker/logs?follow=true&tail=0&format=sse`);
    const fresh = await until(
      'followed lines of both replicas',
      async () => followed.events.map((e) => e.data),
      (ls) => new Set(ls.map((l: any) => l.replica)).size === 2,
      15_000,
    );
    expect(fresh.every((l: any) => l.line.startsWith('tick '))).toBe(true);
    followed.close();
    await followed.done;

    const sub = subscribe(
      gw.url,
      `subscription { serviceLogs(cluster: "c1", app: "${app}", service: "ticker", follow: true, tail: 2) { time replica stream line } }`,
    );
    const got = await until(
      'subscribed lines of both replicas',
      async () => sub.items.map((i) => i.data.serviceLogs),
      (ls) => new Set(ls.map((l: any) => l.replica)).size === 2,
      15_000,
    );
    expect(got.every((l: any) => l.time && l.line.startsWith('tick '))).toBe(true);
    await sub.close();

    const missing = await gw.call('GET', `/v1/clusters/c1/apps/${app}/services/nope/logs`);
    expect(missing.status).toBe(404);
  }, 60_000);

  it("exposes its own and the containers' metrics in the Prometheus text format", async () => {
    await gw.graphql('{ monitoringStatus { instance } }');
    const res = await fetch(`${gw.url}/metrics`);
    expect(res.headers.get('content-type')).toContain('text/plain; version=0.0.4');
    const text = await res.text();
    const families = parsePrometheus(text); // throws on any line that is not valid exposition format
    const family = (name: string) => families.find((f) => f.name === name);
    // the parser folds a labelled histogram into one entry and drops its labels: read its _count
    // lines as plain samples (each label set's lines then come out as a family of their own)
    const flat = parsePrometheus(text.replace(/^# TYPE (\S+) histogram$/gm, '# TYPE $1 untyped'));
    const counts = (name: string) => flat.filter((f) => f.name === `${name}_count`).flatMap((f) => f.metrics);
    expect(family('berth_http_request_duration_seconds')!.type).toBe('HISTOGRAM');
    expect(counts('berth_http_request_duration_seconds').map((m) => `${m.labels?.method} ${m.labels?.route}`)).toEqual(
      expect.arrayContaining(['GET /v1/events', 'PATCH /v1/clusters/:cluster/apps/:app/services/:service', 'POST /graphql']),
    );
    expect(counts('berth_graphql_resolver_duration_seconds').map((m) => m.labels)).toContainEqual({ type: 'query', field: 'monitoringStatus', result: 'ok' });
    const ops = family('berth_operations_total')!;
    expect(ops.type).toBe('COUNTER');
    expect(ops.metrics).toEqual(expect.arrayContaining([expect.objectContaining({ labels: { kind: 'update', result: 'succeeded' }, value: '1' })]));
    expect(Number(family('berth_event_watcher_up')!.metrics.find((m) => m.labels?.cluster === 'c1')!.value)).toBe(1);
    expect(family('berth_event_watcher_lag_seconds')!.metrics[0]!.labels).toEqual({ cluster: 'c1' });
    expect(family('berth_event_watcher_reconnects_total')).toBeDefined();
    expect(Number(counts('berth_metrics_collector_batch_size').find((m) => m.labels?.cluster === 'c1')!.value)).toBeGreaterThan(3);
    expect(family('berth_metrics_collector_duration_seconds')!.type).toBe('HISTOGRAM');
    expect(family('berth_db_pool_connections')!.metrics.map((m) => m.labels?.state)).toEqual(
      expect.arrayContaining(['total', 'idle', 'in_use', 'waiting', 'max']),
    );
    const memory = family('berth_container_memory_bytes')!.metrics.filter((m) => m.labels?.app === app && m.labels?.service === 'ticker');
    expect(memory).toHaveLength(2);
    expect(memory.every((m) => Number(m.value) > 0 && m.labels?.cluster === 'c1' && m.labels?.replica && m.labels?.node)).toBe(true);
    expect(family('berth_container_network_receive_bytes_total')!.type).toBe('COUNTER');

    // the shipped Grafana dashboard asks only for series this endpoint exposes
    const dashboard = JSON.parse(await readFile(path.resolve(import.meta.dirname, '../grafana/berth.json'), 'utf8'));
    const exprs: string[] = dashboard.panels.flatMap((p: any) => (p.targets ?? []).map((t: any) => t.expr));
    const used = new Set(exprs.flatMap((e) => e.match(/berth_[a-z_]+/g) ?? []).map((n) => n.replace(/_(bucket|sum|count)$/, '')));
    expect(used.size).toBeGreaterThan(15);
    expect([...used].filter((n) => !family(n))).toEqual([]);
  });

  it('samples the node engines a swarm cluster lists besides its manager, each container once', async () => {
    const c1 = async () => (await monitoring()).clusters.find((c: any) => c.cluster === 'c1');
    // this test swarm has one node: listing its own engine again must neither fail nor double a container
    const socket = process.env.BERTH_DOCKER_SOCKET ?? '/var/run/docker.sock';
    expect((await gw.call('PATCH', '/v1/clusters/c1', { labels: { 'berth.io/node-engines': `unix://${socket}` } })).status).toBe(200);
    const since = new Date().toISOString();
    await until('a sampling of two engines', c1, (c) => c.metrics.engines === 2 && c.metrics.lastSampleAt > since && c.metrics.state === 'collecting');
    const families = parsePrometheus(await (await fetch(`${gw.url}/metrics`)).text());
    const ticker = families
      .find((f) => f.name === 'berth_container_memory_bytes')!
      .metrics.filter((m) => m.labels?.app === app && m.labels?.service === 'ticker');
    expect(ticker).toHaveLength(2);

    expect((await gw.call('PATCH', '/v1/clusters/c1', { labels: { 'berth.io/node-engines': 'ftp://nowhere' } })).status).toBe(200);
    const bad = await until('the bad label to be reported', c1, (c) => c.metrics.state === 'failing');
    expect(bad.metrics.message).toMatch(/berth\.io\/node-engines: "ftp:\/\/nowhere"/);
    expect((await gw.call('PATCH', '/v1/clusters/c1', { labels: {} })).status).toBe(200);
    await until('collection to recover', c1, (c) => c.metrics.state === 'collecting' && c.metrics.engines === 1);
  }, 60_000);

  it('shows a token granted one app only that app, in every monitoring read', async () => {
    const other = `oth${Date.now().toString(36)}`;
    volumePrefixes.push(other);
    const volumes = await createVolumes(other, 1, 0);
    await until(
      "the other app's event",
      () => db.prisma.clusterEvent.count({ where: { clusterId, app: other } }),
      (n) => n >= 1,
    );
    const made = await gw.call('POST', '/v1/tokens', { name: `viewer-${app}`, grants: [{ role: 'viewer', cluster: 'c1', app }] });
    expect(made.status).toBe(201);
    const auth = { authorization: `Bearer ${made.body.token}` };

    const events = (await gw.call('GET', '/v1/events?limit=1000', undefined, auth)).body.items;
    expect(events.length).toBeGreaterThan(0);
    expect(events.every((e: any) => e.app === app)).toBe(true);
    expect((await gw.call('GET', `/v1/events?app=${other}`, undefined, auth)).body.items).toEqual([]);
    const replay = sseReader(`${gw.url}/v1/events/stream?after=0`, made.body.token);
    await until(
      'the replay',
      async () => replay.events.length,
      (n) => n >= events.length,
      10_000,
    );
    replay.close();
    await replay.done;
    expect(replay.events.every((e) => e.data.app === app)).toBe(true);

    const metrics = (await gw.call('GET', '/v1/metrics?cluster=c1&step=10s&from=' + new Date(Date.now() - 120_000).toISOString(), undefined, auth)).body;
    expect(metrics.series.length).toBeGreaterThan(0);
    expect(metrics.series.every((s: any) => s.app === app)).toBe(true);
    expect((await gw.call('GET', '/v1/monitoring', undefined, auth)).body.clusters.map((c: any) => c.cluster)).toEqual(['c1']);
    await removeVolumes(volumes);
  }, 30_000);

  it('loses and doubles no event when the watcher is disconnected mid-stream and the gateway restarts mid-stream', async () => {
    const prefix = `gap${Date.now().toString(36)}`;
    volumePrefixes.push(prefix);
    const watchers = gw.app.get(EventWatcherService);
    // a live reader on the first gateway: its stream must end when that gateway shuts down, not hold it open
    const live = sseReader(`${gw.url}/v1/events/stream?cluster=c1&app=${prefix}&kind=volume`);
    await live.opened;
    let restarted: Promise<void> | undefined;
    const made: number[] = [];
    let down = { from: Infinity, to: Infinity };
    let afterRestart = 0;
    // emit until the new gateway has been following for a while: at least 45 events, ending well after the restart
    const more = (n: number) => n < 400 && (n < 45 || down.to === Infinity || afterRestart++ < 10);
    const names = await createVolumes(
      prefix,
      45,
      40,
      async (i) => {
        made.push(Date.now());
        // a dropped connection a third of the way in, a whole gateway restart two thirds in
        if (i === 15) expect(watchers.disconnect(clusterId)).toBe(true);
        if (i === 30) {
          restarted = (async () => {
            await gw.close();
            down = { from: Date.now(), to: Infinity };
            gw = await startGateway({ ...ENV, DATABASE_URL: dbUrl, BERTH_DATA_DIR: dataDir });
            await streaming();
            down.to = Date.now();
          })();
        }
      },
      more,
    );
    await restarted;
    await live.done;
    const streamed = live.events.map((e) => e.data.name);
    expect(streamed.length).toBeGreaterThan(15);
    expect(streamed).toEqual(names.slice(0, streamed.length));
    // the restart really fell mid-stream: events were emitted while no watcher ran
    const whileDown = made.filter((t) => t > down.from && t < down.to).length;
    console.log(`gateway restart: ${down.to - down.from} ms without a watcher, ${whileDown} of ${names.length} volume events emitted meanwhile`);
    expect(whileDown).toBeGreaterThan(0);
    const stored = await until(
      'every volume event',
      async () => db.prisma.clusterEvent.findMany({ where: { clusterId, app: prefix, objectKind: 'volume' }, orderBy: { id: 'asc' } }),
      (rows) => rows.filter((r) => r.action === 'create').length >= names.length,
      30_000,
    );
    const created = stored.filter((r) => r.action === 'create').map((r) => r.objectName);
    expect(created).toEqual(names);
    expect(new Set(stored.map((r) => r.eventId)).size).toBe(stored.length);
    const status = (await monitoring()).clusters[0].events;
    expect(status.state).toBe('streaming');
    await removeVolumes(names);
    const destroyed = await until(
      'every destroy event',
      async () => db.prisma.clusterEvent.findMany({ where: { clusterId, app: prefix, action: 'destroy' }, orderBy: { id: 'asc' } }),
      (rows) => rows.length >= names.length,
      30_000,
    );
    expect(destroyed.map((r) => r.objectName)).toEqual(names);
  }, 90_000);
});
