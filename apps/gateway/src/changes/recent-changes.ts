import { Injectable } from '@nestjs/common';
import type { ReadOptions } from '@berth/driver';

/** After an operation of an app closes, its reads still go to the orchestrator this long (the read model may be a moment behind). */
export const RECENT_CHANGE_WINDOW_MS = 2_000;
/** An operation begun here but closed elsewhere (its follower moved) stops counting as open after this. */
const OPEN_AT_MOST_MS = 15 * 60_000;

/**
 * Read-your-writes across a whole operation, not just its first call: while an operation of an app
 * that this replica began is open (a rollout being followed, a scale converging), and for
 * RECENT_CHANGE_WINDOW_MS after it closed, reads of that app ask the orchestrator. So `apply --wait`
 * followed by a read shows what the operation saw when it ended.
 */
@Injectable()
export class RecentChanges {
  private readonly open = new Map<string, Map<string, number>>();
  private readonly closed = new Map<string, number>();

  begin(appId: string | null | undefined, operationId: string): void {
    if (!appId) return;
    const ops = this.open.get(appId) ?? new Map<string, number>();
    ops.set(operationId, Date.now());
    this.open.set(appId, ops);
  }

  end(appId: string | null | undefined, operationId: string): void {
    if (!appId) return;
    const ops = this.open.get(appId);
    ops?.delete(operationId);
    if (ops && !ops.size) this.open.delete(appId);
    this.closed.set(appId, Date.now());
  }

  /** The read options for a read of `appId`: `fresh` while it changes or has just changed, else as asked. */
  readFor(appId: string, asked: ReadOptions): ReadOptions {
    return this.changing(appId) ? { ...asked, consistency: 'fresh' } : asked;
  }

  private changing(appId: string): boolean {
    const now = Date.now();
    const ops = this.open.get(appId);
    if (ops) {
      for (const [id, at] of ops) if (now - at > OPEN_AT_MOST_MS) ops.delete(id);
      if (ops.size) return true;
      this.open.delete(appId);
    }
    const closedAt = this.closed.get(appId);
    if (closedAt === undefined) return false;
    if (now - closedAt < RECENT_CHANGE_WINDOW_MS) return true;
    this.closed.delete(appId);
    return false;
  }
}
