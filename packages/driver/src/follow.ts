import { setTimeout as sleep } from 'node:timers/promises';

/** First wait of a poller: a change that is over within a fraction of a second is seen that soon. */
export const POLL_INITIAL_MS = 100;
/** Longest wait of a poller, unless its caller gives another. */
export const POLL_MAX_MS = 500;

/**
 * Waits that start short and double up to `maxMs`; `reset()` starts over. A poller that resets on
 * every change it sees answers quickly while things move, and reads at most one extra time per
 * doubling after each change: the extra load grows with the number of changes, not with time.
 */
export function backoff(initialMs = POLL_INITIAL_MS, maxMs = POLL_MAX_MS): { next(): number; reset(): void } {
  const first = Math.min(initialMs, maxMs);
  let current = first;
  return {
    next() {
      const wait = current;
      current = Math.min(current * 2, maxMs);
      return wait;
    },
    reset() {
      current = first;
    },
  };
}

/**
 * Polls `read` until `done` says so, yielding each state that differs from the one before
 * (compared as JSON). Ends quietly when the signal aborts. Waits `initialIntervalMs` (100 ms) after
 * the first read and after every change, doubling up to `intervalMs` (500 ms) while nothing changes.
 */
export async function* pollUntil<T>(
  read: () => Promise<T>,
  done: (state: T) => boolean,
  options: { signal?: AbortSignal; intervalMs?: number; initialIntervalMs?: number } = {},
): AsyncGenerator<T> {
  const waits = backoff(options.initialIntervalMs ?? POLL_INITIAL_MS, options.intervalMs ?? POLL_MAX_MS);
  let last: string | undefined;
  while (!options.signal?.aborted) {
    const state = await read();
    const key = JSON.stringify(state);
    if (key !== last) {
      last = key;
      waits.reset();
      yield state;
    }
    if (done(state)) return;
    try {
      await sleep(waits.next(), undefined, { signal: options.signal });
    } catch {
      return;
    }
  }
}
