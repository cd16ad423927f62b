import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Polls `read` until `done` says so, yielding each state that differs from the one before
 * (compared as JSON). Ends quietly when the signal aborts.
 */
export async function* pollUntil<T>(
  read: () => Promise<T>,
  done: (state: T) => boolean,
  options: { signal?: AbortSignal; intervalMs?: number } = {},
): AsyncGenerator<T> {
  const interval = options.intervalMs ?? 500;
  let last: string | undefined;
  while (!options.signal?.aborted) {
    const state = await read();
    const key = JSON.stringify(state);
    if (key !== last) {
      last = key;
      yield state;
    }
    if (done(state)) return;
    try {
      await sleep(interval, undefined, { signal: options.signal });
    } catch {
      return;
    }
  }
}
