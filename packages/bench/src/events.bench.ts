import { setTimeout as sleep } from 'node:timers/promises';
import type { ClusterEvent, OrchestratorDriver } from '@berth/driver';
import { createKubernetesDriver } from '@berth/driver-kubernetes';
import { createSwarmDriver } from '@berth/driver-swarm';
import { applyApp, deleteApp } from './apps.js';
import type { BenchContext } from './context.js';
import type { GatewayProcess } from './gateway.process.js';
import type { EngineTaskView } from './swarm.direct.js';
import { log, section, type SectionResult } from './report.js';
import { ms, ratio, summarize, wallMs, withSpread } from './stats.js';

/** One event as a subscriber saw it: when it arrived, and the orchestrator's own time for it when known. */
interface Arrival {
  at: number;
  /** The orchestrator's time of the change, ms since the epoch (sub-ms for Swarm's timeNano). */
  origin?: number;
}

type Arrivals = Map<string, Arrival>;

const nanosToMs = (timeNano: string): number => Number(BigInt(timeNano) / 1000n) / 1000;

/** A Kubernetes MicroTime ("...T16:39:14.216123Z") as ms; undefined for second-precision times. */
function microTimeMs(text: string | undefined): number | undefined {
  const m = text ? /^(.*T\d\d:\d\d:\d\d)\.(\d{1,9})Z$/.exec(text) : null;
  if (!m) return undefined;
  return Date.parse(`${m[1]}Z`) + Number(`0.${m[2]}`) * 1000;
}

/** Collects a driver's event stream until the signal aborts. */
async function collectDriver(driver: OrchestratorDriver, app: string, into: Arrivals, origin: (e: ClusterEvent) => number | undefined, signal: AbortSignal) {
  try {
    for await (const e of driver.events({ app, signal })) into.set(e.id, { at: wallMs(), origin: origin(e) });
  } catch (e) {
    if (!signal.aborted) throw e;
  }
}

interface GatewayStream {
  path: string;
  describe: string;
}

/**
 * Finds a cluster event stream in the gateway's OpenAPI document (server-sent events under a cluster,
 * not an operation's progress stream). Undefined when this build of the gateway has none.
 */
async function findGatewayStream(gateway: GatewayProcess, cluster: string, app: string): Promise<GatewayStream | undefined> {
  type OpenApiOperation = { responses?: unknown; parameters?: { name: string; in: string }[] };
  const doc = await gateway
    .request<{ paths: Record<string, Record<string, OpenApiOperation | undefined>> }>('GET', '/docs/openapi.json')
    .catch(() => undefined);
  if (!doc) return undefined;
  for (const [p, methods] of Object.entries(doc.paths)) {
    const get = methods.get;
    if (!get || !/events/.test(p) || /operations/.test(p)) continue;
    const sse = JSON.stringify(get.responses ?? {}).includes('text/event-stream') || /stream/.test(p);
    if (!sse) continue;
    const params = get.parameters ?? [];
    let path = p.replace('{cluster}', cluster).replace('{app}', app);
    if (/\{[^}]+\}/.test(path)) continue;
    const query = params.filter((x) => x.in === 'query' && x.name === 'app').length && !p.includes('{app}') ? `?app=${encodeURIComponent(app)}` : '';
    const clusterQuery =
      params.some((x) => x.in === 'query' && x.name === 'cluster') && !p.includes('{cluster}') ? `${query ? '&' : '?'}cluster=${cluster}` : '';
    path = `${path}${query}${clusterQuery}`;
    return { path, describe: `GET ${path}` };
  }
  return undefined;
}

/** Reads server-sent events; every JSON `data:` payload that looks like a cluster event is recorded. */
async function collectSse(gateway: GatewayProcess, path: string, into: Arrivals, signal: AbortSignal, ready: () => void): Promise<void> {
  try {
    const res = await fetch(`${gateway.url}${path}`, { headers: { ...gateway.headers, accept: 'text/event-stream' }, signal });
    if (!res.ok || !res.body) throw new Error(`GET ${path}: HTTP ${res.status}`);
    ready();
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const chunk of res.body) {
      const at = wallMs();
      buffer += decoder.decode(chunk as Uint8Array, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = block
          .split('\n')
          .filter((l) => l.startsWith('data:'))
          .map((l) => l.slice(5).trimStart())
          .join('\n');
        if (!data) continue;
        try {
          const e = JSON.parse(data) as Partial<ClusterEvent> & { eventId?: string };
          const id = e.eventId ?? e.id;
          if (id) into.set(String(id), { at, origin: e.cursor && /^\d{16,}$/.test(e.cursor) ? nanosToMs(e.cursor) : e.time ? Date.parse(e.time) : undefined });
        } catch {
          // a keep-alive or a non-JSON payload
        }
      }
    }
  } catch (e) {
    if (!signal.aborted) throw e;
  }
}

function latencies(arrivals: Arrivals, ids: Iterable<string>, from: (id: string) => number | undefined): number[] {
  const out: number[] = [];
  for (const id of ids) {
    const a = arrivals.get(id);
    const origin = from(id);
    if (a && origin !== undefined) out.push(a.at - origin);
  }
  return out;
}

async function swarmEvents(ctx: BenchContext, result: SectionResult): Promise<void> {
  const { gateway, options } = ctx;
  const direct = ctx.swarm!.direct;
  const cluster = ctx.swarm!.cluster;
  const app = `bench-ev-${ctx.runId}`;
  const cycles = options.full ? 5 : 2;
  await applyApp(gateway, cluster, { name: app, services: { ping: { image: 'berth-test/http:1', replicas: 0 } } });
  const driver = createSwarmDriver({ kind: 'swarm', socketPath: options.dockerSocket });
  const abort = new AbortController();
  const raw: Arrivals = new Map();
  const viaDriver: Arrivals = new Map();
  const viaGateway: Arrivals = new Map();
  const stream = await findGatewayStream(gateway, cluster, app);
  try {
    const running: Promise<void>[] = [
      direct.rawEvents((line, at) => {
        const timeNano = /"timeNano":\s*(\d+)/.exec(line)?.[1];
        if (!timeNano) return;
        const e = JSON.parse(line) as { Action: string; Actor?: { ID: string } };
        raw.set(`${timeNano}-${e.Actor?.ID ?? ''}-${e.Action}`, { at, origin: nanosToMs(timeNano) });
      }, abort.signal),
      collectDriver(driver, app, viaDriver, (e) => (/^\d+$/.test(e.cursor) ? nanosToMs(e.cursor) : undefined), abort.signal),
    ];
    if (stream) {
      let ok: () => void = () => {};
      const opened = new Promise<void>((resolve) => (ok = resolve));
      running.push(collectSse(gateway, stream.path, viaGateway, abort.signal, ok));
      await Promise.race([opened, sleep(5000)]);
    }
    await sleep(1000);
    const service = await direct.requireService(`${app}_ping`);
    log(`events/swarm: ${cycles} cycles of scaling ${app}_ping 0 -> 3 -> 0 on the engine`);
    for (let c = 0; c < cycles; c++) {
      for (const replicas of [3, 0]) {
        const s = await direct.requireService(`${app}_ping`);
        const spec = { ...s.Spec, Mode: { Replicated: { Replicas: replicas } } };
        await direct.docker.getService(service.ID).update({ _query: { version: s.Version.Index }, _body: spec } as never);
        for (let i = 0; i < 150; i++) {
          const tasks = (await direct.docker.listTasks({ filters: { service: [`${app}_ping`] } } as object)) as EngineTaskView[];
          const live = tasks.filter((t) =>
            ['running', 'starting', 'preparing', 'assigned', 'accepted', 'pending', 'new'].includes(t.Status?.State ?? ''),
          ).length;
          if (replicas > 0 ? tasks.filter((t) => t.Status?.State === 'running').length === replicas : live === 0) break;
          await sleep(200);
        }
        await sleep(500);
      }
    }
    // events of the last change still in flight through a batching writer
    await sleep(options.full ? 3000 : 2000);
    abort.abort();
    await Promise.allSettled(running);
  } finally {
    abort.abort();
    await driver.close();
    await deleteApp(gateway, cluster, app);
    await direct.removeStack(app);
  }
  const ids = [...viaDriver.keys()];
  const origin = (id: string) => raw.get(id)?.origin ?? viaDriver.get(id)?.origin;
  const rawL = summarize(latencies(raw, ids, origin));
  const driverL = summarize(latencies(viaDriver, ids, origin));
  const extra = summarize(ids.flatMap((id) => (raw.get(id) && viaDriver.get(id) ? [viaDriver.get(id)!.at - raw.get(id)!.at] : [])));
  result.rows.push(
    ['swarm', 'engine /events, raw socket (direct)', String(rawL.n), withSpread(rawL), ms(rawL.p99), '1.00x'],
    ['swarm', 'Berth driver events() in-process', String(driverL.n), withSpread(driverL), ms(driverL.p99), ratio(driverL.p50 / rawL.p50)],
    ['swarm', '  driver arrival - raw arrival, same event', String(extra.n), withSpread(extra), ms(extra.p99), ''],
  );
  if (stream) {
    const gatewayIds = ids.filter((id) => viaGateway.has(id));
    const fallbackIds = gatewayIds.length ? gatewayIds : [...viaGateway.keys()];
    const gw = summarize(latencies(viaGateway, fallbackIds, (id) => origin(id) ?? viaGateway.get(id)?.origin));
    result.rows.push(['swarm', `Berth gateway stream (${stream.describe})`, String(gw.n), withSpread(gw), ms(gw.p99), ratio(gw.p50 / rawL.p50)]);
    result.goals.push({
      goal: 'events swarm: p50 < 100 ms from the engine event to Berth subscriber',
      measured: gw.n ? `${ms(gw.p50)} ms (p99 ${ms(gw.p99)}, n=${gw.n}) through ${stream.describe}` : `no event arrived through ${stream.describe}`,
      met: gw.n ? gw.p50 < 100 : false,
    });
    if (!gatewayIds.length && viaGateway.size)
      result.notes.push(`the gateway stream's event ids did not match the driver's; its latencies use its own event times`);
  } else {
    result.notes.push(
      'The gateway has no cluster event stream in this build (no SSE path with "events" outside /v1/operations in /docs/openapi.json): measured the driver stream the gateway would relay instead.',
    );
    result.goals.push({
      goal: 'events swarm: p50 < 100 ms from the engine event to Berth subscriber',
      measured: `gateway stream not available; driver events() ${ms(driverL.p50)} ms (p99 ${ms(driverL.p99)}, n=${driverL.n})`,
      met: undefined,
    });
  }
}

async function kubernetesEvents(ctx: BenchContext, result: SectionResult): Promise<void> {
  const { gateway, options } = ctx;
  const direct = ctx.kubernetes!.direct;
  const cluster = ctx.kubernetes!.cluster;
  const app = `bench-ev-${ctx.runId}`;
  const cycles = options.full ? 6 : 4;
  await applyApp(gateway, cluster, { name: app, services: { ping: { image: 'berth-test/http:1', replicas: 0 } } });
  const driver = createKubernetesDriver({ kind: 'kubernetes', kubeconfig: direct.kubeconfig });
  const abort = new AbortController();
  const raw: Arrivals = new Map();
  const viaDriver: Arrivals = new Map();
  try {
    const rv = (await direct.core.listNamespacedEvent({ namespace: app, limit: 1 })).metadata?.resourceVersion ?? '0';
    const running = [
      direct.rawWatch(
        `/api/v1/namespaces/${app}/events?watch=1&resourceVersion=${rv}`,
        (line, at) => {
          const n = JSON.parse(line) as { type: string; object: { metadata: { uid: string; resourceVersion: string }; eventTime?: string } };
          if (n.type !== 'ADDED' && n.type !== 'MODIFIED') return;
          raw.set(`${n.object.metadata.uid}:${n.object.metadata.resourceVersion}`, { at, origin: microTimeMs(n.object.eventTime) });
        },
        abort.signal,
      ),
      collectDriver(driver, app, viaDriver, () => undefined, abort.signal),
    ];
    await sleep(1500);
    log(`events/kubernetes: ${cycles} cycles of scaling ${app}/ping 0 -> 3 -> 0 on the API server`);
    for (let c = 0; c < cycles; c++) {
      for (const replicas of [3, 0]) {
        const scale = await direct.apps.readNamespacedDeploymentScale({ namespace: app, name: 'ping' });
        scale.spec = { replicas };
        await direct.apps.replaceNamespacedDeploymentScale({ namespace: app, name: 'ping', body: scale });
        for (let i = 0; i < 100; i++) {
          const pods = await direct.core.listNamespacedPod({ namespace: app });
          const ready = pods.items.filter((p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).length;
          if (replicas > 0 ? ready === replicas : pods.items.length === 0) break;
          await sleep(200);
        }
        await sleep(500);
      }
    }
    await sleep(2000);
    abort.abort();
    await Promise.allSettled(running);
  } finally {
    abort.abort();
    await driver.close();
    await deleteApp(gateway, cluster, app);
    await direct.deleteNamespace(app);
  }
  const ids = [...viaDriver.keys()].filter((id) => raw.has(id));
  const extra = summarize(ids.map((id) => viaDriver.get(id)!.at - raw.get(id)!.at));
  const timed = ids.filter((id) => raw.get(id)!.origin !== undefined);
  const rawAbs = summarize(timed.map((id) => raw.get(id)!.at - raw.get(id)!.origin!));
  const driverAbs = summarize(timed.map((id) => viaDriver.get(id)!.at - raw.get(id)!.origin!));
  result.rows.push(
    ['kubernetes', 'API server watch, raw HTTPS (direct)', String(rawAbs.n), withSpread(rawAbs), ms(rawAbs.p99), '1.00x'],
    ['kubernetes', 'Berth driver events() in-process', String(driverAbs.n), withSpread(driverAbs), ms(driverAbs.p99), ratio(driverAbs.p50 / rawAbs.p50)],
    ['kubernetes', '  driver arrival - raw arrival, same event', String(extra.n), withSpread(extra), ms(extra.p99), ''],
  );
  result.goals.push({
    goal: 'events kubernetes: driver events() p50 within 2x of a raw watch (from the event time)',
    measured: driverAbs.n
      ? `driver ${ms(driverAbs.p50)} ms vs raw watch ${ms(rawAbs.p50)} ms (${ratio(driverAbs.p50 / rawAbs.p50)}, n=${driverAbs.n}); same event, driver arrival - raw arrival: p50 ${ms(extra.p50)} ms (n=${extra.n})`
      : 'no event with an event time arrived through both',
    met: driverAbs.n ? driverAbs.p50 <= 2 * rawAbs.p50 : undefined,
  });
  result.notes.push(
    `kubernetes: latency from the event's eventTime (microseconds; only events that carry one: ${timed.length} of ${ids.length} paired) to arrival; events are core/v1 Events of the app's namespace (what the driver watches).`,
  );
}

/** Item 3: from a change in the orchestrator to the event reaching a subscriber of Berth's stream. */
export async function eventsBench(ctx: BenchContext): Promise<SectionResult> {
  const result = section('3. Event latency: orchestrator event time -> arrival at the subscriber (ms)', [
    'backend',
    'subscriber',
    'n',
    'p50 ms (IQR)',
    'p99 ms',
    'p50 vs direct',
  ]);
  result.notes.push(
    "Swarm: origin = the engine's timeNano of each event (same host clock); changes are made on the engine directly (service scaled 0 -> 3 -> 0), so every container event of the app counts; all subscribers listen at once and are paired by event id.",
  );
  if (ctx.swarm) {
    try {
      await swarmEvents(ctx, result);
    } catch (e) {
      result.notes.push(`swarm: FAILED: ${(e as Error).message}`);
      log(`events/swarm failed: ${(e as Error).stack}`);
    }
  }
  if (ctx.kubernetes) {
    try {
      await kubernetesEvents(ctx, result);
    } catch (e) {
      result.notes.push(`kubernetes: FAILED: ${(e as Error).message}`);
      log(`events/kubernetes failed: ${(e as Error).stack}`);
    }
  }
  return result;
}
