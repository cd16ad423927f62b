import type { Observation, ReadModelStatus, ReadOptions } from './types.js';

export interface ReadGateOptions {
  /**
   * How long after a write through this driver ends the written app's reads still go to the
   * orchestrator (default 2 s): the write's own changes reach the read model through the watch, and
   * a caller that reads right after writing must see them.
   */
  writeWindowMs?: number;
  now?: () => number;
}

export const DEFAULT_WRITE_WINDOW_MS = 2000;

/**
 * The rules every driver's read model follows, in one place: when a read may be answered from it
 * (asked for, live, app not just written), what it says about its age, and its counters.
 * The store itself (what is held and how the watch fills it) is the driver's.
 */
export class ReadGate {
  private state: 'syncing' | 'live' | 'stale' = 'syncing';
  private syncedAt?: number;
  private lastChangeAt?: number;
  private syncs = 0;
  private reconnects = 0;
  private error?: string;
  private readonly reads = { cached: 0, fresh: 0 };
  /** Writes in flight, by app. */
  private readonly writing = new Map<string, number>();
  /** When the last write of each app ended. */
  private readonly written = new Map<string, number>();
  private readonly windowMs: number;
  private readonly now: () => number;

  constructor(options: ReadGateOptions = {}) {
    this.windowMs = options.writeWindowMs ?? DEFAULT_WRITE_WINDOW_MS;
    this.now = options.now ?? Date.now;
  }

  /** A complete list is in the store and the watch is connected: cached reads are served. */
  synced(): void {
    this.state = 'live';
    this.syncedAt = this.now();
    this.syncs++;
    this.error = undefined;
  }

  /** The watch broke: reads go to the orchestrator until the next `synced()`. */
  lost(error: string): void {
    if (this.state === 'live') this.reconnects++;
    this.state = 'stale';
    this.error = error;
  }

  /** The watch delivered a change. */
  changed(): void {
    this.lastChangeAt = this.now();
  }

  get live(): boolean {
    return this.state === 'live';
  }

  /** Runs a write of `app`, so that its reads bypass the read model while it runs and for the window after. */
  async write<T>(app: string | undefined, run: () => Promise<T>): Promise<T> {
    if (app === undefined) return run();
    this.writing.set(app, (this.writing.get(app) ?? 0) + 1);
    try {
      return await run();
    } finally {
      const left = (this.writing.get(app) ?? 1) - 1;
      if (left) this.writing.set(app, left);
      else this.writing.delete(app);
      this.written.set(app, this.now());
    }
  }

  private recentlyWritten(app: string | undefined): boolean {
    const since = this.now() - this.windowMs;
    const recent = (a: string) => this.writing.has(a) || (this.written.get(a) ?? -Infinity) > since;
    for (const [a, at] of this.written) if (at <= since) this.written.delete(a);
    if (app !== undefined) return recent(app);
    return this.writing.size > 0 || this.written.size > 0;
  }

  /** Whether this read of `app` (undefined: of every app) is answered from the read model; counts it. */
  serves(app: string | undefined, options: ReadOptions | undefined): boolean {
    const cached = options?.consistency === 'cached' && this.state === 'live' && !this.recentlyWritten(app);
    this.reads[cached ? 'cached' : 'fresh']++;
    return cached;
  }

  /** What an answer says about its data: read now from the orchestrator, or held, current up to `at` (default now). */
  observation(source: Observation['source'], at: number = this.now()): Observation {
    return { source, observedAt: new Date(source === 'orchestrator' ? this.now() : at).toISOString() };
  }

  status(objects: Record<string, number>): ReadModelStatus {
    return {
      state: this.state,
      objects,
      ...(this.syncedAt !== undefined ? { syncedAt: new Date(this.syncedAt).toISOString() } : {}),
      ...(this.lastChangeAt !== undefined ? { lastChangeAt: new Date(this.lastChangeAt).toISOString() } : {}),
      resyncs: Math.max(0, this.syncs - 1),
      reconnects: this.reconnects,
      reads: { ...this.reads },
      ...(this.error ? { error: this.error } : {}),
    };
  }
}

/** The status of a driver created without a read model. */
export const READ_MODEL_OFF: ReadModelStatus = { state: 'off', objects: {}, resyncs: 0, reconnects: 0, reads: { cached: 0, fresh: 0 } };

/** Each item of a read, stamped with where it came from. */
export function observed<T extends { observed?: Observation }>(items: T[], observation: Observation): T[] {
  return items.map((item) => ({ ...item, observed: observation }));
}
