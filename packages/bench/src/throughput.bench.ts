import { setTimeout as sleep } from 'node:timers/promises';
import autocannon from 'autocannon';
import type { BenchContext } from './context.js';
import { describeIdle, freshIdle, IDLE_GOALS, SETTLED_AFTER_MS } from './idle-memory.js';
import { keepProfile, renderProfile, summarizeProfile } from './profile.js';
import { log, section, type SectionResult } from './report.js';
import { mb, ms, summarize } from './stats.js';

const CONNECTIONS = 50;

/** RSS of the gateway every 200 ms until stopped. */
function sampleRss(ctx: BenchContext): { stop(): Promise<number[]> } {
  const samples: number[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      samples.push(await ctx.gateway.rssBytes());
      await sleep(200);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return samples;
    },
  };
}

async function load(ctx: BenchContext, path: string, seconds: number): Promise<autocannon.Result> {
  return autocannon({
    url: `${ctx.gateway.url}${path}`,
    connections: CONNECTIONS,
    duration: seconds,
    headers: ctx.gateway.headers,
  });
}

/**
 * Item 4: requests per second of two read endpoints under 50 loopback connections, and the gateway's
 * resident memory idle and under that load. `idleRss` is the RSS of the freshly started gateway.
 */
export async function throughputBench(ctx: BenchContext, idleRss: number): Promise<SectionResult> {
  const result = section(`4. Throughput and memory: autocannon, ${CONNECTIONS} connections, ${ctx.options.loadSeconds} s per endpoint, 127.0.0.1`, [
    'endpoint',
    'req/s (mean)',
    'req/s p50 (min-max per s)',
    'latency p50 ms',
    'p99 ms',
    'non-2xx',
    'errors',
    'RSS under load median (max)',
  ]);
  const cluster = ctx.swarm?.cluster ?? ctx.kubernetes?.cluster;
  const endpoints = ['/v1/clusters', ...(cluster ? [`/v1/clusters/${cluster}/apps`] : [])];
  const data: Record<string, unknown> = {};
  const idleBefore = await ctx.gateway.rssBytes();
  for (const path of endpoints) {
    log(`throughput: ${path} for ${ctx.options.loadSeconds} s`);
    await load(ctx, path, 1); // warm-up: connections, JIT
    const rss = sampleRss(ctx);
    if (ctx.options.profile) await ctx.gateway.startProfile();
    const r = await load(ctx, path, ctx.options.loadSeconds);
    const raw = ctx.options.profile ? await ctx.gateway.stopProfile() : undefined;
    if (raw) await keepProfile(ctx.options.profileDir, `load${path.replaceAll('/', '-')}`, raw);
    const profile = raw ? summarizeProfile(raw) : undefined;
    const rssSamples = summarize(await rss.stop());
    if (profile) ctx.profiles.push(renderProfile(`gateway under load on GET ${path}`, profile, r.requests.total));
    data[path] = { requests: r.requests, latency: r.latency, errors: r.errors, non2xx: r.non2xx, rss: rssSamples };
    result.rows.push([
      `GET ${path}`,
      r.requests.average.toFixed(0),
      `${r.requests.p50} (${r.requests.min}-${r.requests.max})`,
      ms(r.latency.p50),
      ms(r.latency.p99),
      String(r.non2xx),
      String(r.errors + r.timeouts),
      `${mb(rssSamples.p50)} (${mb(rssSamples.max)})`,
    ]);
    await sleep(2000);
  }
  const idleAfter = await ctx.gateway.rssBytes();
  const afterGc = ctx.options.profile ? await ctx.gateway.memoryReport().catch(() => undefined) : undefined;
  result.notes.push(
    `RSS idle: ${mb(idleRss)} right after start (clusters registered, nothing else done), ${mb(idleBefore)} before this load (after the other sections), ${mb(idleAfter)} 2 s after it.`,
    'GET /v1/clusters reads the clusters from Postgres on every request and their health, version and node count from a reading at most 5 s old (one probe per cluster per 5 s, shared by the requests waiting for it); GET /v1/clusters/:c/apps reads the cluster (once, in the auth guard) and its apps from Postgres on every request. The token is verified from a 5 s in-process cache on both.',
    'autocannon runs in the benchmark process on the same 2 cores as the gateway, Postgres and the orchestrators: the req/s figure is a floor for what the gateway alone could do.',
    'The gateway is started with BERTH_RATE_LIMIT=100000000: one load generator is one token, and the per-token limit (default 1200/min) would measure the limiter.',
  );
  if (ctx.idleMemory) result.notes.push(`Idle memory on Postgres as the gateway sees it, after a full GC: ${describeIdle(ctx.idleMemory)}.`);
  // two more fresh gateways, side by side: PGlite (the goal's embedded default) and Postgres (read again when settled)
  const fresh = (database: 'pglite' | 'postgres') =>
    freshIdle(ctx, database).catch((e: unknown) => {
      log(`memory: the fresh gateway on ${database} failed: ${(e as Error).message}`);
      return undefined;
    });
  const [pglite, postgres] = await Promise.all([fresh('pglite'), fresh('postgres')]);
  const settled = (r: { settledRss: number } | undefined) => (r ? `, ${mb(r.settledRss)} ${SETTLED_AFTER_MS / 1000} s after the clusters were registered` : '');
  if (pglite?.memory) result.notes.push(`Idle memory on PGlite (a second gateway, same clusters), after a full GC: ${describeIdle(pglite.memory)}.`);
  if (afterGc) {
    result.notes.push(
      `After the load and a full GC: RSS ${mb(afterGc.memory.rss)} (${mb(afterGc.before.rss)} before the GC), V8 heap used ${mb(afterGc.memory.heapUsed)} (idle at start: ${mb(ctx.idleMemory?.memory.heapUsed ?? Number.NaN)}): heap still used after a GC is retained, the rest of the RSS is memory the process keeps from its peak.`,
    );
  }
  const clusters = [ctx.swarm ? 'swarm' : '', ctx.kubernetes ? 'kubernetes' : ''].filter(Boolean).join(' + ') || 'no cluster';
  result.goals.push(
    {
      goal: `memory: idle RSS < 150 MB on Postgres (${clusters})`,
      measured: `${mb(idleRss)} (fresh), ${mb(idleAfter)} (after the run); a second fresh gateway: ${postgres ? mb(postgres.rss) : 'did not start'}${settled(postgres)}`,
      met: idleRss < IDLE_GOALS.postgres,
    },
    {
      goal: `memory: idle RSS < 200 MB on PGlite (${clusters})`,
      measured: pglite ? `${mb(pglite.rss)} (fresh)${settled(pglite)}` : 'the PGlite gateway did not start (see the log)',
      met: pglite ? pglite.rss < IDLE_GOALS.pglite : undefined,
    },
  );
  result.data = {
    idleRss,
    idleBefore,
    idleAfter,
    pgliteIdleRss: pglite?.rss,
    pgliteSettledRss: pglite?.settledRss,
    postgresFreshRss: postgres?.rss,
    postgresSettledRss: postgres?.settledRss,
    endpoints: data,
  };
  return result;
}
