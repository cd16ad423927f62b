import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { RECENT_CHANGE_WINDOW_MS, RecentChanges } from '../src/changes/recent-changes.js';

const cached = { consistency: 'cached' } as const;
const fresh = { consistency: 'fresh' } as const;

afterEach(() => jest.restoreAllMocks());

describe('RecentChanges', () => {
  it('sends reads of an app to the orchestrator while an operation of it is open and for the window after it closed', () => {
    let now = 1_000_000;
    jest.spyOn(Date, 'now').mockImplementation(() => now);
    const recent = new RecentChanges();
    expect(recent.readFor('app-1', cached)).toEqual(cached);
    recent.begin('app-1', 'op-1');
    now += 60_000; // a long rollout
    expect(recent.readFor('app-1', cached)).toEqual(fresh);
    expect(recent.readFor('app-2', cached)).toEqual(cached);
    recent.end('app-1', 'op-1');
    now += RECENT_CHANGE_WINDOW_MS - 1;
    expect(recent.readFor('app-1', cached)).toEqual(fresh);
    now += 2;
    expect(recent.readFor('app-1', cached)).toEqual(cached);
  });

  it('keeps an app changing until its last open operation closes', () => {
    let now = 0;
    jest.spyOn(Date, 'now').mockImplementation(() => now);
    const recent = new RecentChanges();
    recent.begin('app-1', 'web');
    recent.begin('app-1', 'db');
    recent.end('app-1', 'web');
    now += RECENT_CHANGE_WINDOW_MS * 5;
    expect(recent.readFor('app-1', cached)).toEqual(fresh);
    recent.end('app-1', 'db');
    now += RECENT_CHANGE_WINDOW_MS;
    expect(recent.readFor('app-1', cached)).toEqual(cached);
  });

  it('stops counting an operation that closed elsewhere after 15 minutes, and ignores changes of no app', () => {
    let now = 0;
    jest.spyOn(Date, 'now').mockImplementation(() => now);
    const recent = new RecentChanges();
    recent.begin('app-1', 'op-1');
    recent.begin(null, 'op-2');
    now += 15 * 60_000 + 1;
    expect(recent.readFor('app-1', cached)).toEqual(cached);
  });
});
