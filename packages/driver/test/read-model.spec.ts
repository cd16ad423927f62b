import { describe, expect, it } from '@jest/globals';
import { ReadGate } from '../src/read-model.js';

const cached = { consistency: 'cached' } as const;

describe('ReadGate', () => {
  it('serves cached reads only once synced and only when asked, and counts both kinds', () => {
    const gate = new ReadGate();
    expect(gate.serves('shop', cached)).toBe(false);
    gate.synced();
    expect(gate.serves('shop', cached)).toBe(true);
    expect(gate.serves('shop', undefined)).toBe(false);
    expect(gate.serves('shop', { consistency: 'fresh' })).toBe(false);
    expect(gate.status({ service: 3 })).toMatchObject({ state: 'live', objects: { service: 3 }, reads: { cached: 1, fresh: 3 }, resyncs: 0 });
  });

  it('sends reads to the orchestrator while the watch is lost, until the next complete list', () => {
    const gate = new ReadGate();
    gate.synced();
    gate.lost('event stream ended');
    expect(gate.serves('shop', cached)).toBe(false);
    expect(gate.status({})).toMatchObject({ state: 'stale', reconnects: 1, error: 'event stream ended' });
    gate.synced();
    expect(gate.serves('shop', cached)).toBe(true);
    expect(gate.status({})).toMatchObject({ state: 'live', resyncs: 1 });
    expect(gate.status({}).error).toBeUndefined();
  });

  it('reads an app from the orchestrator while it is written and for the window after, other apps from the read model', async () => {
    let now = 1_000;
    const gate = new ReadGate({ writeWindowMs: 500, now: () => now });
    gate.synced();
    let during: boolean[] = [];
    await gate.write('shop', async () => {
      during = [gate.serves('shop', cached), gate.serves('blog', cached), gate.serves(undefined, cached)];
    });
    expect(during).toEqual([false, true, false]);
    now += 499;
    expect(gate.serves('shop', cached)).toBe(false);
    expect(gate.serves(undefined, cached)).toBe(false);
    now += 2;
    expect(gate.serves('shop', cached)).toBe(true);
    expect(gate.serves(undefined, cached)).toBe(true);
  });

  it('keeps the window after a failed write too, and passes the error on', async () => {
    let now = 0;
    const gate = new ReadGate({ writeWindowMs: 100, now: () => now });
    gate.synced();
    await expect(gate.write('shop', () => Promise.reject(new Error('refused')))).rejects.toThrow('refused');
    expect(gate.serves('shop', cached)).toBe(false);
    now = 101;
    expect(gate.serves('shop', cached)).toBe(true);
  });

  it('says where an answer came from and when it was current', () => {
    const gate = new ReadGate({ now: () => Date.parse('2026-12-02T10:00:00Z') });
    expect(gate.observation('orchestrator')).toEqual({ source: 'orchestrator', observedAt: '2026-12-02T10:00:00.000Z' });
    expect(gate.observation('cache', Date.parse('2026-12-02T09:59:59.500Z'))).toEqual({ source: 'cache', observedAt: '2026-12-02T09:59:59.500Z' });
  });
});
