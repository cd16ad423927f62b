import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { renderTable } from './report.js';

/** Keeps a raw profile for DevTools when the run asked for it (--profile-dir). */
export async function keepProfile(dir: string | undefined, name: string, profile: unknown): Promise<void> {
  if (!dir) return;
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, `${name.replace(/[^\w.-]+/g, '-')}.cpuprofile`), JSON.stringify(profile));
}

/** The parts of a V8 .cpuprofile this summary reads. */
interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number; children?: number[] }[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

const PSEUDO = new Set(['(idle)', '(program)', '(garbage collector)', '(root)']);

/** Which package a frame belongs to: a node_modules package, a workspace package, or node itself. */
function owner(url: string, functionName: string): string {
  if (PSEUDO.has(functionName)) return functionName;
  if (!url) return '(native / V8 builtins)';
  if (url.startsWith('node:')) return 'node core';
  const modules = /node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (modules) return modules[1]!;
  const workspace = /\/(apps|packages)\/([^/]+)\//.exec(url);
  if (workspace) return `berth ${workspace[1]}/${workspace[2]}`;
  return url;
}

function where(url: string, line: number): string {
  const short = url.replace(/^.*node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?/, '').replace(/^.*\/(apps|packages)\//, '$1/');
  return short ? `${short}:${line + 1}` : '';
}

export interface ProfileSummary {
  totalMs: number;
  busyMs: number;
  byPackage: { name: string; ms: number; share: number }[];
  byFunction: { name: string; where: string; ms: number; share: number; caller: string }[];
}

/** Self time per function and per package, from the sample counts and the time between samples. */
export function summarizeProfile(raw: unknown, top = 12): ProfileSummary {
  const profile = raw as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  /** The nearest caller outside node's core and V8: who made a native function (a socket write, a parse) do the work. */
  const callerOf = (id: number): string => {
    for (let p = parent.get(id); p !== undefined; p = parent.get(p)) {
      const f = byId.get(p)!.callFrame;
      if (f.url && !f.url.startsWith('node:') && !PSEUDO.has(f.functionName)) return `${f.functionName || '(anonymous)'} ${where(f.url, f.lineNumber)}`;
    }
    return '';
  };
  const self = new Map<number, number>();
  if (profile.samples && profile.timeDeltas) {
    profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas![i] ?? 0) / 1000));
  } else {
    const total = (profile.endTime - profile.startTime) / 1000;
    const hits = profile.nodes.reduce((a, n) => a + (n.hitCount ?? 0), 0) || 1;
    for (const n of profile.nodes) self.set(n.id, ((n.hitCount ?? 0) / hits) * total);
  }
  /** Samples under the profiler hook itself (stopping the profiler, writing it out) are not the gateway's work. */
  const ownWork = (id: number): boolean => {
    for (let p: number | undefined = id; p !== undefined; p = parent.get(p)) if (byId.get(p)!.callFrame.url.includes('profiler.hook')) return true;
    return false;
  };
  const totalMs = (profile.endTime - profile.startTime) / 1000;
  const packages = new Map<string, number>();
  const functions = new Map<string, { name: string; where: string; ms: number; callers: Map<string, number> }>();
  let busyMs = 0;
  for (const [id, t] of self) {
    if (ownWork(id)) continue;
    const frame = byId.get(id)!.callFrame;
    const pkg = owner(frame.url, frame.functionName);
    packages.set(pkg, (packages.get(pkg) ?? 0) + t);
    if (frame.functionName === '(idle)') continue;
    busyMs += t;
    if (PSEUDO.has(frame.functionName) && frame.functionName !== '(garbage collector)') continue;
    const key = `${frame.functionName}|${frame.url}|${frame.lineNumber}`;
    const f = functions.get(key) ?? {
      name: frame.functionName || '(anonymous)',
      where: where(frame.url, frame.lineNumber),
      ms: 0,
      callers: new Map<string, number>(),
    };
    f.ms += t;
    const caller = callerOf(id);
    f.callers.set(caller, (f.callers.get(caller) ?? 0) + t);
    functions.set(key, f);
  }
  return {
    totalMs,
    busyMs,
    byPackage: [...packages]
      .filter(([name]) => name !== '(idle)')
      .map(([name, t]) => ({ name, ms: t, share: t / (busyMs || 1) }))
      .sort((a, b) => b.ms - a.ms)
      .slice(0, top),
    byFunction: [...functions.values()]
      .map(({ callers, ...f }) => ({ ...f, share: f.ms / (busyMs || 1), caller: [...callers].sort((a, b) => b[1] - a[1])[0]?.[0] ?? '' }))
      .sort((a, b) => b.ms - a.ms)
      .slice(0, top),
  };
}

export function renderProfile(title: string, s: ProfileSummary, requests?: number): string {
  const perRequest = requests ? `, ${(s.busyMs / requests).toFixed(2)} ms CPU per request over ${requests} requests` : '';
  const pct = (v: number) => `${(v * 100).toFixed(1)}%`;
  return [
    `\n-- CPU profile: ${title} (window ${(s.totalMs / 1000).toFixed(1)} s, busy ${(s.busyMs / 1000).toFixed(2)} s${perRequest}) --`,
    renderTable(
      ['self time by package', 'ms', 'share of busy'],
      s.byPackage.map((p) => [p.name, p.ms.toFixed(0), pct(p.share)]),
    ),
    '',
    renderTable(
      ['self time by function', 'where', 'ms', 'share', 'main caller outside node core'],
      s.byFunction.map((f) => [f.name.slice(0, 40), f.where.slice(0, 60), f.ms.toFixed(0), pct(f.share), f.caller.slice(0, 90)]),
    ),
  ].join('\n');
}
