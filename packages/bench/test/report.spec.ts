import { describe, expect, it } from '@jest/globals';
import { summarizeProfile } from '../src/profile.js';
import { renderTable } from '../src/report.js';
import { percentile, summarize, withSpread } from '../src/stats.js';

describe('benchmark statistics', () => {
  it('interpolates percentiles between ranks and reports the median with its interquartile range', () => {
    expect(percentile([1, 2, 3, 4], 0.5)).toBe(2.5);
    const s = summarize([5, 1, 4, 2, 3]);
    expect(s).toMatchObject({ n: 5, min: 1, p25: 2, p50: 3, p75: 4, max: 5 });
    expect(withSpread(s)).toBe('3.00 (2.00-4.00)');
  });

  it('says "-" rather than inventing a figure when nothing was measured', () => {
    expect(withSpread(summarize([]))).toBe('- (---)');
  });

  it('aligns figures right and words left', () => {
    const table = renderTable(
      ['path', 'p50 ms'],
      [
        ['direct', '3.04'],
        ['REST', '17.0'],
      ],
    ).split('\n');
    expect(table[2]).toBe('direct    3.04');
    expect(table[3]).toBe('REST      17.0');
  });
});

describe('CPU profile summary', () => {
  const frame = (functionName: string, url: string) => ({ functionName, url, lineNumber: 0 });
  const profile = {
    startTime: 0,
    endTime: 10_000,
    nodes: [
      { id: 1, callFrame: frame('(root)', ''), children: [2, 4, 6] },
      { id: 2, callFrame: frame('listServices', 'file:///w/node_modules/.pnpm/dockerode@5.0.1/node_modules/dockerode/lib/docker.js'), children: [3] },
      { id: 3, callFrame: frame('writev', ''), children: [] },
      { id: 4, callFrame: frame('(anonymous)', 'file:///w/packages/bench/dist/profiler.hook.js'), children: [5] },
      { id: 5, callFrame: frame('dispatch', ''), children: [] },
      { id: 6, callFrame: frame('(idle)', ''), children: [] },
    ],
    samples: [2, 3, 3, 5, 5, 5, 6],
    timeDeltas: [1000, 1000, 1000, 1000, 1000, 1000, 1000],
  };

  it('charges native work to the package that called it and leaves out the profiler and idle time', () => {
    const s = summarizeProfile(profile);
    expect(s.busyMs).toBe(3);
    expect(s.byPackage[0]).toMatchObject({ name: '(native / V8 builtins)', ms: 2 });
    expect(s.byPackage.find((p) => p.name === 'dockerode')?.ms).toBe(1);
    expect(s.byFunction[0]).toMatchObject({ name: 'writev', caller: expect.stringContaining('listServices') });
    expect(s.byFunction.some((f) => f.name === 'dispatch')).toBe(false);
  });
});
