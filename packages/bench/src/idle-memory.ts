import { setTimeout as sleep } from 'node:timers/promises';
import type { BenchContext } from './context.js';
import { GatewayProcess } from './gateway.process.js';
import { log } from './report.js';
import { mb, median } from './stats.js';

/** The goals for a fresh gateway with a cluster of each kind registered, per database. */
export const IDLE_GOALS = { postgres: 150 * 1024 * 1024, pglite: 200 * 1024 * 1024 } as const;

export type IdleMemory = NonNullable<BenchContext['idleMemory']>;

/** Idle: started, clusters registered, background watchers running, no request for 5 s; the median of 5 readings 200 ms apart. */
export async function idleRss(gateway: GatewayProcess): Promise<number> {
  await sleep(5000);
  const rss: number[] = [];
  for (let i = 0; i < 5; i++) {
    rss.push(await gateway.rssBytes());
    await sleep(200);
  }
  return median(rss);
}

/** Registers the run's clusters (`local`, `kube`) in a gateway, as bench.ts does in the main one. */
export async function registerClusters(ctx: Pick<BenchContext, 'options' | 'swarm' | 'kubernetes'>, gateway: GatewayProcess): Promise<void> {
  if (ctx.swarm) await gateway.request('POST', '/v1/clusters', { name: ctx.swarm.cluster, kind: 'swarm', socketPath: ctx.options.dockerSocket });
  if (ctx.kubernetes)
    await gateway.request('POST', '/v1/clusters', { name: ctx.kubernetes.cluster, kind: 'kubernetes', kubeconfig: ctx.kubernetes.direct.kubeconfig });
}

/** How long after its clusters were registered a fresh gateway is read again, settled: V8 shrinks an idle heap on its own after about 30 s. */
export const SETTLED_AFTER_MS = 40_000;

/**
 * The idle RSS of a second, fresh gateway with the same clusters registered as the main one, on the
 * embedded default database (PGlite in a data folder created before it starts, as on every start but
 * the first) or on a scratch Postgres database: 5 s after the clusters were registered (as the main
 * gateway is read) and again, settled, after SETTLED_AFTER_MS. It runs only for the measurement,
 * alongside the main gateway.
 */
export async function freshIdle(ctx: BenchContext, database: 'pglite' | 'postgres'): Promise<{ rss: number; settledRss: number; memory?: IdleMemory }> {
  const name = database === 'pglite' ? 'PGlite (no DATABASE_URL)' : 'a scratch Postgres database';
  log(`memory: starting a second gateway on ${name} for its idle RSS`);
  const gateway = await GatewayProcess.start(ctx.options.databaseUrl, { database, profiling: ctx.options.profile, env: ctx.options.gatewayEnv });
  try {
    const registered = Date.now();
    await registerClusters(ctx, gateway);
    const rss = await idleRss(gateway);
    await sleep(Math.max(0, registered + SETTLED_AFTER_MS - Date.now()));
    const settledRss = await gateway.rssBytes();
    log(`fresh gateway idle RSS on ${database}: ${mb(rss)}, ${mb(settledRss)} after ${SETTLED_AFTER_MS / 1000} s`);
    const memory = ctx.options.profile ? await gateway.memoryReport().catch(() => undefined) : undefined;
    return { rss, settledRss, ...(memory ? { memory } : {}) };
  } finally {
    await gateway.stop();
  }
}

/** "RSS 301 MB = V8 heap ... + outside the heap ...": where a gateway's idle memory is, as it sees it after a full GC. */
export function describeIdle(m: IdleMemory): string {
  const u = m.memory;
  const spaces = m.heapSpaces
    .filter((sp) => sp.space_used_size > 1024 * 1024)
    .map((sp) => `${sp.space_name} ${mb(sp.space_used_size)}`)
    .join(', ');
  return `RSS ${mb(u.rss)} (${mb(m.before.rss)} before the GC) = V8 heap ${mb(u.heapTotal)} (used ${mb(u.heapUsed)}: ${spaces}) + outside the heap ${mb(u.rss - u.heapTotal)} (external ${mb(u.external)}, of which array buffers ${mb(u.arrayBuffers)}; the rest is code, WebAssembly memory, thread stacks and the allocator)`;
}
