import { setTimeout as sleep } from 'node:timers/promises';

/** First wait of a poller: a change that is over within a fraction of a second is seen that soon. */
export const POLL_INITIAL_MS = 100;
/** Longest wait of a poller, unless its caller gives another. */
export const POLL_MAX_MS = 500;
/** Shortest time between two reads of a poller that is woken by changes: a burst of changes costs one read per this. */
export const POLL_MIN_GAP_MS = 25;

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
 * A doorbell for a poller: whoever learns that something may have changed (a watch, an event
 * stream) rings it, and the poller reads again at once instead of sleeping out its wait. Rings
 * while nobody waits are kept (as one), so a change during a read is not missed.
 */
export class Wakeup {
  private rung = false;
  private waiter: (() => void) | undefined;

  ring(): void {
    this.rung = true;
    this.waiter?.();
  }

  /** Waits up to `ms`, or until rung (or `signal` aborts); true when rung. Consumes the ring. */
  async wait(ms: number, signal?: AbortSignal): Promise<boolean> {
    if (!this.rung && ms > 0 && !signal?.aborted) {
      let timer: NodeJS.Timeout | undefined;
      const onAbort = () => this.waiter?.();
      await new Promise<void>((resolve) => {
        this.waiter = resolve;
        timer = setTimeout(resolve, ms);
        signal?.addEventListener('abort', onAbort, { once: true });
      });
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      this.waiter = undefined;
    }
    const rung = this.rung;
    this.rung = false;
    return rung;
  }
}

export interface PollOptions<T> {
  signal?: AbortSignal;
  /** Longest wait between reads (500 ms). */
  intervalMs?: number;
  /** First wait, after the first read and after every change (100 ms). */
  initialIntervalMs?: number;
  /** Rung when something may have changed: the next read comes at once (but not sooner than `minGapMs` after the last). */
  wakeup?: Wakeup;
  /** With a wakeup: the shortest time from one read's start to the next (25 ms). */
  minGapMs?: number;
  /** A state that will change by itself after a known time (a monitor window ending): read again then, not later. */
  recheckInMs?: (state: T) => number | undefined;
}

/**
 * Polls `read` until `done` says so, yielding each state that differs from the one before
 * (compared as JSON). Ends quietly when the signal aborts. Waits `initialIntervalMs` (100 ms) after
 * the first read and after every change, doubling up to `intervalMs` (500 ms) while nothing changes.
 * With a `wakeup`, a ring cuts the wait short: a watched change is read within a read's time, and
 * the timed polls remain as the safety net for a missed or broken watch.
 */
export async function* pollUntil<T>(read: () => Promise<T>, done: (state: T) => boolean, options: PollOptions<T> = {}): AsyncGenerator<T> {
  const waits = backoff(options.initialIntervalMs ?? POLL_INITIAL_MS, options.intervalMs ?? POLL_MAX_MS);
  const { signal, wakeup } = options;
  const minGap = options.minGapMs ?? POLL_MIN_GAP_MS;
  let last: string | undefined;
  while (!signal?.aborted) {
    const readAt = Date.now();
    const state = await read();
    const key = JSON.stringify(state);
    if (key !== last) {
      last = key;
      waits.reset();
      yield state;
    }
    if (done(state)) return;
    let wait = waits.next();
    const recheck = options.recheckInMs?.(state);
    if (recheck !== undefined) wait = Math.max(0, Math.min(wait, recheck));
    if (wakeup) {
      // a ring (now or during the wait) reads again, no sooner than minGap after this read began
      if (await wakeup.wait(wait, signal)) {
        const gap = minGap - (Date.now() - readAt);
        if (gap > 0 && !(await pause(gap, signal))) return;
      }
      if (signal?.aborted) return;
    } else if (!(await pause(wait, signal))) return;
  }
}

async function pause(ms: number, signal: AbortSignal | undefined): Promise<boolean> {
  try {
    await sleep(ms, undefined, { signal });
    return true;
  } catch {
    return false;
  }
}
