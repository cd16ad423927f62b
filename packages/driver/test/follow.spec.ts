import { describe, expect, it } from '@jest/globals';
import { Wakeup, backoff, pollUntil } from '../src/follow.js';

describe('backoff', () => {
  it('starts short, doubles up to the bound, and starts over on reset', () => {
    const waits = backoff(100, 500);
    expect([waits.next(), waits.next(), waits.next(), waits.next(), waits.next()]).toEqual([100, 200, 400, 500, 500]);
    waits.reset();
    expect(waits.next()).toBe(100);
    expect(backoff(800, 500).next()).toBe(500);
  });
});

describe('pollUntil', () => {
  it('reads soon after the start and after each change, and backs off while nothing changes', async () => {
    const states = ['a', 'a', 'a', 'a', 'b', 'b', 'done'];
    const at: number[] = [];
    const seen: string[] = [];
    let i = 0;
    const read = async () => {
      at.push(performance.now());
      return states[i++]!;
    };
    for await (const s of pollUntil(read, (s) => s === 'done', { initialIntervalMs: 20, intervalMs: 80 })) seen.push(s);
    expect(seen).toEqual(['a', 'b', 'done']);
    const gaps = at.slice(1).map((t, k) => t - at[k]!);
    // a: 20, 40, 80 (bound); b came: 20 again; then 40
    const expected = [20, 40, 80, 80, 20, 40];
    expected.forEach((ms, k) => expect(gaps[k]).toBeGreaterThanOrEqual(ms - 2));
    expect(gaps[4]).toBeLessThan(80);
  });

  it('defaults to a first wait of 100 ms, well under the bound the caller gives', async () => {
    const at: number[] = [];
    let n = 0;
    const read = async () => {
      at.push(performance.now());
      return ++n;
    };
    for await (const _ of pollUntil(read, (s) => s >= 2, { intervalMs: 1000 })) void _;
    expect(at[1]! - at[0]!).toBeGreaterThanOrEqual(98);
    expect(at[1]! - at[0]!).toBeLessThan(600);
  });

  it('ends quietly when the signal aborts', async () => {
    const controller = new AbortController();
    const seen: number[] = [];
    setTimeout(() => controller.abort(), 50);
    for await (const s of pollUntil(
      async () => 1,
      () => false,
      { signal: controller.signal, initialIntervalMs: 10, intervalMs: 20 },
    ))
      seen.push(s);
    expect(seen).toEqual([1]);
  });

  it('reads again as soon as it is woken, without waiting out its interval', async () => {
    const wakeup = new Wakeup();
    let n = 0;
    const seen: number[] = [];
    // an interval far beyond the test's own timeout: only the rings can make it go on
    for await (const s of pollUntil(
      async () => {
        // a ring while reading is kept for the wait that follows
        if (n < 3) wakeup.ring();
        return ++n;
      },
      (s) => s >= 4,
      { initialIntervalMs: 600_000, intervalMs: 600_000, wakeup, minGapMs: 1 },
    ))
      seen.push(s);
    expect(seen).toEqual([1, 2, 3, 4]);
  });

  it('reads again when the state says it changes by itself, however long the interval', async () => {
    let n = 0;
    const seen: string[] = [];
    for await (const s of pollUntil(
      async () => (++n < 3 ? 'watching' : 'done'),
      (s) => s === 'done',
      { initialIntervalMs: 600_000, intervalMs: 600_000, wakeup: new Wakeup(), recheckInMs: (s) => (s === 'watching' ? 5 : undefined) },
    ))
      seen.push(s);
    expect(seen).toEqual(['watching', 'done']);
  });

  it('ends quietly when the signal aborts while it waits for a ring', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 30);
    const seen: number[] = [];
    for await (const s of pollUntil(
      async () => 1,
      () => false,
      { signal: controller.signal, intervalMs: 600_000, wakeup: new Wakeup() },
    ))
      seen.push(s);
    expect(seen).toEqual([1]);
  });
});
