import type { OrchestratorDriver } from '@berth/driver';
import { createKubernetesDriver } from '@berth/driver-kubernetes';
import { createSwarmDriver } from '@berth/driver-swarm';
import { deleteApp, growApp } from './apps.js';
import type { Backend, BenchContext } from './context.js';
import { keepProfile, renderProfile, summarizeProfile } from './profile.js';
import { log, section, type SectionResult } from './report.js';
import { ms, now, ratio, summarize, type Summary, withSpread } from './stats.js';

/**
 * Arguments inline rather than as variables: the gateway's query-cost rule (graphql.limits.ts) is
 * built without the request's variables and refuses every query with a required variable.
 */
const graphqlQuery = (cluster: string, app: string) =>
  `{ services(cluster: ${JSON.stringify(cluster)}, app: ${JSON.stringify(app)}) { service dnsName endpoints { address } observed { source } } }`;
const PATHS = ['direct', 'driver', 'REST', 'GraphQL', 'REST ?fresh=true', 'REST, no orchestrator call'] as const;
type PathName = (typeof PATHS)[number];

interface Observed {
  observed?: { source: string; ageMs: number };
}

/** Changes made outside Berth per service count, to measure how soon cached reads show them. */
function changesFor(full: boolean): number {
  return full ? 40 : 15;
}

interface Staleness {
  count: number;
  /** From the direct write's answer to the first cached read (its answer) that shows the change. */
  berth: Summary;
  /** The same for a direct read of the orchestrator: the floor of this way of measuring. */
  direct: Summary;
}

/** Samples per path: more where a call is cheap, fewer where it takes long. */
function samplesFor(count: number, full: boolean): number {
  if (count <= 10) return full ? 120 : 60;
  if (count <= 100) return full ? 80 : 40;
  return full ? 30 : 15;
}

interface CountResult {
  count: number;
  setupMs: number;
  stats: Record<PathName, Summary>;
  /** Cached reads (REST and GraphQL samples) the read model answered, of all. */
  fromCache: { cached: number; of: number };
  staleness?: Staleness;
}

/** Polls `read` (back to back, 5 ms apart) until it says the change is visible; returns the time from `since` to that answer. */
async function visibleAfter(since: number, read: () => Promise<boolean>, timeoutMs = 30_000): Promise<number> {
  for (;;) {
    if (await read()) return now() - since;
    if (now() - since > timeoutMs) throw new Error(`a change made ${timeoutMs / 1000} s ago is still not visible`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function benchBackend(ctx: BenchContext, backend: Backend, result: SectionResult): Promise<CountResult[]> {
  const { gateway, options } = ctx;
  const app = `bench-reads-${ctx.runId}`;
  const cluster = backend === 'swarm' ? ctx.swarm!.cluster : ctx.kubernetes!.cluster;
  const driver: OrchestratorDriver =
    backend === 'swarm'
      ? createSwarmDriver({ kind: 'swarm', socketPath: options.dockerSocket })
      : createKubernetesDriver({ kind: 'kubernetes', kubeconfig: ctx.kubernetes!.direct.kubeconfig });
  const direct = async (): Promise<number> =>
    backend === 'swarm' ? (await ctx.swarm!.direct.listStack(app)).services.length : (await ctx.kubernetes!.direct.listApp(app)).deployments;
  const fromCache = { cached: 0, of: 0 };
  const tally = (items: Observed[]) => {
    fromCache.of++;
    if (items.length && items.every((i) => i.observed?.source === 'cache')) fromCache.cached++;
    return items.length;
  };
  const calls: Record<PathName, () => Promise<number>> = {
    direct,
    driver: async () => (await driver.listServices(app)).length,
    REST: async () => tally((await gateway.request<{ items: Observed[] }>('GET', `/v1/clusters/${cluster}/apps/${app}/services`)).items),
    GraphQL: async () => tally((await gateway.graphql<{ services: Observed[] }>(graphqlQuery(cluster, app))).services),
    'REST ?fresh=true': async () =>
      (await gateway.request<{ items: unknown[] }>('GET', `/v1/clusters/${cluster}/apps/${app}/services?fresh=true`)).items.length,
    // the same route prefix, auth and app lookup, answered from Postgres alone: the gateway's fixed cost
    'REST, no orchestrator call': async () => {
      await gateway.request('GET', `/v1/clusters/${cluster}/apps/${app}/revisions?limit=1`);
      return count;
    },
  };
  const results: CountResult[] = [];
  let count = 0;
  try {
    for (count of options.counts) {
      try {
        log(`reads/${backend}: growing the app to ${count} services (replicas 0, at most 200 new per apply) through the gateway`);
        const setupStarted = now();
        await growApp(gateway, cluster, app, results.at(-1)?.count ?? 0, count);
        const setupMs = now() - setupStarted;
        for (const path of PATHS) {
          const seen = await calls[path]();
          if (seen !== count) throw new Error(`${path} listed ${seen} services of ${app}, expected ${count}`);
        }
        for (let i = 0; i < 3; i++) for (const path of PATHS) await calls[path]();
        // the applies were writes: their app reads from the orchestrator for a moment (read-your-writes)
        await new Promise((r) => setTimeout(r, 2500));
        fromCache.cached = fromCache.of = 0;
        const samples = Object.fromEntries(PATHS.map((p) => [p, [] as number[]])) as Record<PathName, number[]>;
        const n = samplesFor(count, options.full);
        log(`reads/${backend}: ${n} interleaved samples per path at ${count} services`);
        for (let i = 0; i < n; i++) {
          // rotate the order, so no path always runs right after another one's garbage
          for (let k = 0; k < PATHS.length; k++) {
            const path = PATHS[(i + k) % PATHS.length]!;
            const started = now();
            await calls[path]();
            samples[path].push(now() - started);
          }
        }
        const stats = Object.fromEntries(PATHS.map((p) => [p, summarize(samples[p])])) as Record<PathName, Summary>;
        const measured: CountResult = { count, setupMs, stats, fromCache: { ...fromCache } };
        results.push(measured);
        measured.staleness = await stalenessAt(ctx, backend, cluster, app, count);
        for (const path of PATHS) {
          const s = stats[path];
          result.rows.push([
            backend,
            String(count),
            path,
            String(s.n),
            withSpread(s),
            ms(s.p99),
            path === 'direct' ? '1.00x' : ratio(s.p50 / stats.direct.p50),
            path === 'direct'
              ? `${(setupMs / 1000).toFixed(1)} s`
              : path === 'REST' || path === 'GraphQL'
                ? `${fromCache.cached}/${fromCache.of} from cache`
                : '',
          ]);
        }
        const st = measured.staleness;
        result.rows.push([
          backend,
          String(count),
          'staleness: change outside Berth -> cached REST shows it',
          String(st.berth.n),
          withSpread(st.berth),
          ms(st.berth.p99),
          '',
          `direct read: ${ms(st.direct.p50)} (p99 ${ms(st.direct.p99)})`,
        ]);
        if (options.profile && count === Math.max(...options.counts.filter((c) => c <= 100))) {
          const requests = 30;
          for (const path of ['REST', 'GraphQL'] as const) {
            await gateway.startProfile();
            for (let i = 0; i < requests; i++) await calls[path]();
            const raw = await gateway.stopProfile();
            await keepProfile(options.profileDir, `reads-${backend}-${count}-${path.toLowerCase()}`, raw);
            const profile = summarizeProfile(raw);
            ctx.profiles.push(renderProfile(`gateway during ${requests} ${path} listings of ${count} ${backend} services`, profile, requests));
          }
        }
      } catch (e) {
        // what was measured at the smaller counts still stands
        result.notes.push(`${backend} at ${count} services: FAILED: ${(e as Error).message}`);
        log(`reads/${backend} at ${count} services failed: ${(e as Error).stack}`);
        break;
      }
    }
  } finally {
    log(`reads/${backend}: removing ${app}`);
    try {
      await deleteApp(gateway, cluster, app);
      if (backend === 'swarm') await ctx.swarm!.direct.removeStack(app);
      else await ctx.kubernetes!.direct.deleteNamespace(app);
    } catch (e) {
      log(`reads/${backend}: clean-up failed: ${(e as Error).message}`);
    }
    await driver.close();
  }
  return results;
}

/**
 * Changes one service's image straight on the orchestrator (replicas 0: no container starts), then
 * reads it through the gateway's cached path until the new image shows; the same for a direct read.
 */
async function stalenessAt(ctx: BenchContext, backend: Backend, cluster: string, app: string, count: number): Promise<Staleness> {
  const service = 'svc0000';
  const berth: number[] = [];
  const direct: number[] = [];
  const n = changesFor(ctx.options.full);
  log(`reads/${backend}: ${n} changes of ${service}'s image made outside Berth, at ${count} services`);
  for (let i = 0; i < n; i++) {
    const image = `berth-test/http:stale-${ctx.runId}-${count}-${i}`;
    if (backend === 'swarm') await ctx.swarm!.direct.setImage(`${app}_${service}`, image);
    else await ctx.kubernetes!.direct.setImage(app, service, image);
    const written = now();
    const [b, d] = await Promise.all([
      visibleAfter(
        written,
        async () => (await ctx.gateway.request<{ image: string }>('GET', `/v1/clusters/${cluster}/apps/${app}/services/${service}`)).image === image,
      ),
      visibleAfter(written, async () =>
        backend === 'swarm'
          ? (await ctx.swarm!.direct.requireService(`${app}_${service}`)).Spec.TaskTemplate?.ContainerSpec?.Image?.startsWith(image) === true
          : (await ctx.kubernetes!.direct.deployment(app, service)).spec?.template.spec?.containers[0]?.image === image,
      ),
    ]);
    berth.push(b);
    direct.push(d);
    await new Promise((r) => setTimeout(r, 100 + Math.random() * 200));
  }
  return { count, berth: summarize(berth), direct: summarize(direct) };
}

/** Item 1: listing an app's services through Berth against the same question asked of the orchestrator. */
export async function readsBench(ctx: BenchContext): Promise<SectionResult> {
  const result = section('1. Read overhead: list the services of one app (GET /v1/clusters/:c/apps/:app/services, GraphQL services)', [
    'backend',
    'services',
    'path',
    'n',
    'p50 ms (IQR)',
    'p99 ms',
    'p50 vs direct',
    'setup (applies)',
  ]);
  result.notes.push(
    'direct: Swarm = dockerode listServices(status) + listTasks, both filtered by the stack label, in parallel; Kubernetes = client-node lists of Deployments, Services, EndpointSlices and Pods in the namespace, in parallel, over one kept-alive connection pool (client-node 2 alone opens a TLS connection per call, see kubernetes.direct.ts).',
    'driver: the Berth driver in this process (driver.listServices), without the gateway: separates the driver cost from the HTTP/Nest/DB cost.',
    "REST and GraphQL: the default read, answered from the gateway's watch-fed read model of the cluster (the last column counts the answers whose every item says observed.source = cache); REST ?fresh=true: the same endpoint asking the orchestrator.",
    'REST, no orchestrator call: GET .../apps/:app/revisions?limit=1 on the same app: the same auth, cluster and app lookups from Postgres, no driver call; what the gateway costs before it asks the orchestrator anything.',
    "staleness: the image of one service (replicas 0) changed straight on the orchestrator (dockerode service update / client-node replace of the Deployment), then GET .../services/svc0000 polled 5 ms apart until it shows the new image: time from the write's answer to that read's answer. The direct read, polled the same way at the same time, is the floor of the method.",
    'Samples are interleaved across paths (rotating order) so machine noise hits every path alike; p99 of n samples is close to the max when n < 100.',
  );
  const data: Record<string, CountResult[]> = {};
  const backends: Backend[] = [...(ctx.swarm ? (['swarm'] as const) : []), ...(ctx.kubernetes ? (['kubernetes'] as const) : [])];
  for (const backend of backends) {
    try {
      data[backend] = await benchBackend(ctx, backend, result);
    } catch (e) {
      result.notes.push(`${backend}: FAILED: ${(e as Error).message}`);
      log(`reads/${backend} failed: ${(e as Error).stack}`);
    }
  }
  for (const backend of ['swarm', 'kubernetes'] as const) {
    const rows = data[backend];
    if (!rows?.length) {
      result.goals.push({ goal: `reads ${backend}: REST p50 <= 1.0x direct at 100 and 1,000 services`, measured: 'not measured', met: undefined });
      continue;
    }
    for (const target of [100, 1000]) {
      const at = rows.find((r) => r.count === target);
      for (const path of ['REST', 'GraphQL'] as const) {
        const goal = `reads ${backend}: ${path} p50 <= 1.0x direct at ${target} services`;
        if (!at) {
          result.goals.push({ goal, measured: `not measured (counts: ${rows.map((r) => r.count).join(', ')})`, met: undefined });
          continue;
        }
        const r = at.stats[path].p50 / at.stats.direct.p50;
        result.goals.push({ goal, measured: `${ratio(r)} (${ms(at.stats[path].p50)} vs ${ms(at.stats.direct.p50)} ms)`, met: r <= 1.0 });
      }
    }
    const stale = rows.filter((r) => r.staleness);
    if (stale.length) {
      const worst = stale.reduce((a, b) => (b.staleness!.berth.p99 > a.staleness!.berth.p99 ? b : a));
      result.goals.push({
        goal: `staleness ${backend}: p99 < 1 s after a change made outside Berth`,
        measured: stale
          .map((r) => `${r.count} services: p50 ${ms(r.staleness!.berth.p50)}, p99 ${ms(r.staleness!.berth.p99)} ms (n=${r.staleness!.berth.n})`)
          .join('; '),
        met: worst.staleness!.berth.p99 < 1000,
      });
    }
    if (rows.length >= 2) {
      const lo = rows[0]!;
      const hi = rows[rows.length - 1]!;
      const growth = (p: PathName) => hi.stats[p].p50 / lo.stats[p].p50;
      const perService = (p: PathName) => ((hi.stats[p].p50 - lo.stats[p].p50) / (hi.count - lo.count)) * 1000;
      for (const path of ['driver', 'REST', 'GraphQL'] as const) {
        result.notes.push(
          `${backend} growth ${lo.count}->${hi.count} services: ${path} x${growth(path).toFixed(2)} (${perService(path).toFixed(0)} us per added service) vs direct x${growth('direct').toFixed(2)} (${perService('direct').toFixed(0)} us per added service)`,
        );
      }
      // growth factors of two medians carry the noise of both: within 5 % counts as "no faster"
      result.goals.push({
        goal: `reads ${backend}: REST cost grows no faster than direct (${lo.count}->${hi.count}, growth within 5%)`,
        measured: `REST x${growth('REST').toFixed(2)} vs direct x${growth('direct').toFixed(2)}; ratio ${ratio(lo.stats.REST.p50 / lo.stats.direct.p50)} -> ${ratio(hi.stats.REST.p50 / hi.stats.direct.p50)}`,
        met: growth('REST') <= growth('direct') * 1.05,
      });
    }
  }
  result.data = data;
  return result;
}
