import type { V1Pod } from '@kubernetes/client-node';
import { parseDuration } from '@berth/model';
import { DriverError, DriverErrorCode, isDriverError, type LogLine, type LogOptions } from '@berth/driver';
import type { KubernetesClient } from './kubernetes.client.js';

/** "2026-01-01T00:00:00Z", a unix time in seconds, or a duration back from now ("10m"). */
export function sinceOption(since: string | undefined): { sinceTime?: string; sinceSeconds?: number } {
  if (!since) return {};
  if (/^\d+(\.\d+)?$/.test(since)) return { sinceTime: new Date(Number(since) * 1000).toISOString() };
  const ms = parseDuration(since);
  if (ms !== undefined) return { sinceSeconds: Math.max(1, Math.ceil(ms / 1000)) };
  const t = new Date(since);
  if (Number.isNaN(t.getTime())) {
    throw new DriverError(DriverErrorCode.Invalid, `"since" must be a time (RFC 3339), unix seconds or a duration like "10m"; got "${since}"`, [
      { path: 'since', message: 'invalid time' },
    ]);
  }
  return { sinceTime: t.toISOString() };
}

/** The pods a log reads from, listed again while following; `final` once no new one can start (a finished job). */
export type PodSource = () => Promise<{ pods: V1Pod[]; final: boolean }>;

/** How often a followed log looks for replicas started since it began. */
export const LOG_RESCAN_MS = 1000;

/** A container whose log the API can serve (one not started yet would answer 400). */
function startedContainer(pod: V1Pod, container: string): { restarts: number } | undefined {
  const status = pod.status?.containerStatuses?.find((c) => c.name === container) ?? pod.status?.containerStatuses?.[0];
  if (!status || !(status.state?.running || status.state?.terminated)) return undefined;
  return { restarts: status.restartCount ?? 0 };
}

/**
 * The log of `container` in each pod, with replica = pod name. Kubernetes merges stdout and stderr
 * into one stream, so every line is reported as stdout. Without follow, pods are read one after the
 * other, in name order. Following merges the pods' streams as lines arrive and lists the pods again
 * every `rescanMs`: a replica started later (scaled up, replaced by a rollout, restarted after a
 * crash) is followed from its first line, as `docker service logs --follow` does. It ends when the
 * signal aborts, or once the source is final and every stream has ended.
 */
export async function* readLogs(
  client: KubernetesClient,
  namespace: string,
  source: PodSource,
  container: string,
  options: LogOptions,
  rescanMs = LOG_RESCAN_MS,
): AsyncGenerator<LogLine> {
  const since = sinceOption(options.since);
  type Request = { follow?: boolean; tailLines?: number; sinceTime?: string; sinceSeconds?: number };
  const request: Request = {
    ...(options.follow ? { follow: true } : {}),
    ...(options.tail !== undefined ? { tailLines: options.tail } : {}),
    ...since,
  };
  async function* podLog(replica: string, req: Request, signal?: AbortSignal): AsyncGenerator<LogLine> {
    try {
      for await (const l of client.logLines(namespace, replica, container, req, signal)) {
        yield { replica, stream: 'stdout', line: l.line, ...(l.time ? { time: l.time } : {}) };
      }
    } catch (e) {
      // A replica replaced since the pods were listed has no log any more; the others still do.
      if (!isDriverError(e, DriverErrorCode.NotFound)) throw e;
    }
  }
  const first = await source();
  if (!options.follow) {
    const started = first.pods.filter((p) => startedContainer(p, container)).sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''));
    for (const p of started) yield* podLog(p.metadata?.name ?? '', request);
    return;
  }

  // Following: every stream pushes into one queue; the loop below yields from it and rescans.
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  if (options.signal?.aborted) return;
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const queue: LogLine[] = [];
  let failure: unknown;
  let wake: (() => void) | undefined;
  const notify = () => wake?.();
  const followed = new Set<string>(); // pod uid + container restart count
  let active = 0;
  const startStream = (pod: V1Pod, req: Request) => {
    active++;
    void (async () => {
      for await (const line of podLog(pod.metadata?.name ?? '', req, stop.signal)) {
        queue.push(line);
        notify();
      }
    })()
      .catch((e: unknown) => {
        if (!stop.signal.aborted) failure ??= e;
      })
      .finally(() => {
        active--;
        notify();
      });
  };
  const adopt = (pods: V1Pod[], initial: boolean) => {
    for (const pod of pods) {
      const started = startedContainer(pod, container);
      const key = `${pod.metadata?.uid ?? pod.metadata?.name}/${started?.restarts}`;
      if (!started || followed.has(key)) continue;
      followed.add(key);
      // A replica that started after the stream began is read from its first line; the tail
      // applies to those that were running already.
      startStream(pod, initial ? request : { follow: true, ...since });
    }
  };
  try {
    adopt(first.pods, true);
    let final = first.final;
    let nextScan = Date.now() + rescanMs;
    while (!stop.signal.aborted) {
      while (queue.length) yield queue.shift()!;
      if (failure) throw failure;
      if (final && active === 0) return;
      // Woken by a line, a stream's end, the abort, or (until the source is final) the next rescan.
      await new Promise<void>((resolve) => {
        const timer = final ? undefined : setTimeout(done, Math.max(0, nextScan - Date.now()));
        function done() {
          clearTimeout(timer);
          stop.signal.removeEventListener('abort', done);
          wake = undefined;
          resolve();
        }
        wake = done;
        stop.signal.addEventListener('abort', done, { once: true });
      });
      if (!final && !stop.signal.aborted && Date.now() >= nextScan) {
        const next = await source();
        adopt(next.pods, false);
        final = next.final;
        nextScan = Date.now() + rescanMs;
      }
    }
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    stop.abort();
  }
}
