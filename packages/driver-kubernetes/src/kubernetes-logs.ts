import type { V1Pod } from '@kubernetes/client-node';
import { parseDuration } from '@berth/model';
import { DriverError, DriverErrorCode, isDriverError, type LogLine, type LogOptions } from '@berth/driver';
import type { KubernetesClient } from './kubernetes.client.js';

/** Merges async streams, yielding items as they arrive from any of them. */
async function* merge<T>(streams: AsyncIterable<T>[]): AsyncGenerator<T> {
  const iterators = streams.map((s) => s[Symbol.asyncIterator]());
  const pending = new Map<number, Promise<{ i: number; r: IteratorResult<T> }>>();
  const next = (i: number) =>
    pending.set(
      i,
      iterators[i]!.next().then((r) => ({ i, r })),
    );
  iterators.forEach((_, i) => next(i));
  try {
    while (pending.size) {
      const { i, r } = await Promise.race(pending.values());
      if (r.done) pending.delete(i);
      else {
        next(i);
        yield r.value;
      }
    }
  } finally {
    await Promise.allSettled(iterators.map((it) => it.return?.()));
  }
}

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

/**
 * The log of `container` in each pod, with replica = pod name. Kubernetes merges stdout and stderr
 * into one stream, so every line is reported as stdout. Following merges the pods' streams as lines
 * arrive; otherwise pods are read one after the other, in name order.
 */
export async function* readLogs(client: KubernetesClient, namespace: string, pods: V1Pod[], container: string, options: LogOptions): AsyncGenerator<LogLine> {
  const request = {
    ...(options.follow ? { follow: true } : {}),
    ...(options.tail !== undefined ? { tailLines: options.tail } : {}),
    ...sinceOption(options.since),
  };
  // A pod that has not started its container yet has no log to read (the API would answer 400).
  const started = pods
    .filter((p) => p.status?.containerStatuses?.some((c) => c.state?.running || c.state?.terminated))
    .sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''));
  async function* podLog(pod: V1Pod): AsyncGenerator<LogLine> {
    const replica = pod.metadata?.name ?? '';
    try {
      for await (const l of client.logLines(namespace, replica, container, request, options.signal)) {
        yield { replica, stream: 'stdout', line: l.line, ...(l.time ? { time: l.time } : {}) };
      }
    } catch (e) {
      // A replica replaced since the pods were listed has no log any more; the others still do.
      if (!isDriverError(e, DriverErrorCode.NotFound)) throw e;
    }
  }
  if (options.follow) yield* merge(started.map(podLog));
  else for (const p of started) yield* podLog(p);
}
