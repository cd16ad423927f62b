import { Inject, Injectable, type OnApplicationShutdown, type OnModuleDestroy } from '@nestjs/common';
import { liveQueue } from '../../common/live-queue.js';
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { PrismaClient } from '@berth/db';
import { CONFIG, type Config } from '../../config/config.js';
import { LOGGER } from '../../common/logger.js';
import { PRISMA } from '../../database/database.module.js';
import { type EventFilter, type StoredEvent, matches } from './event.views.js';

const POLL_BATCH = 1000;
const SETTLE_MS = 10_000;

/**
 * Live cluster events for SSE streams and GraphQL subscriptions, whichever replica stored them.
 * Events this replica stores are published the moment they commit; events another replica stores
 * are found by polling the table while anyone listens. Both paths go through one per-cluster
 * high-water mark, so a listener gets each event once. Per cluster the ids commit in order (one
 * writer holds the cluster's lease), which is what makes a per-cluster mark gap-free.
 */
@Injectable()
export class ClusterEventBus implements OnModuleDestroy, OnApplicationShutdown {
  private readonly bus = new EventEmitter().setMaxListeners(0);
  private readonly lastId = new Map<string, bigint>();
  /** Ids at or below this were there before anyone listened: not news. */
  private floor: bigint | undefined;
  /** Ids at or below this have surely committed: no cluster's mark needs to stay lower. */
  private settled = 0n;
  private readonly horizon: { at: number; id: bigint }[] = [];
  private listeners = 0;
  private timer: NodeJS.Timeout | undefined;
  private looping = false;
  private closed = false;
  /** Ends every subscription on shutdown: an open SSE response would keep the HTTP server from closing. */
  private readonly closing = new AbortController();
  private polling: Promise<void> | undefined;

  constructor(
    @Inject(PRISMA) private readonly prisma: PrismaClient,
    @Inject(CONFIG) private readonly config: Config,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /** Called by a local watcher right after its batch committed. */
  publishStored(rows: StoredEvent[]): void {
    if (this.listeners === 0) return;
    this.emitNew(rows);
  }

  /**
   * Live events matching `filter` until the signal aborts. Listening starts at the call (not at
   * the first read), so a caller can subscribe, then replay history, and miss nothing between.
   */
  subscribe(filter: EventFilter, callerSignal: AbortSignal): AsyncIterable<StoredEvent> {
    const signal = AbortSignal.any([callerSignal, this.closing.signal]);
    this.listeners++;
    this.startPolling();
    return liveQueue<StoredEvent>((push) => {
      const onEvent = (row: StoredEvent) => {
        if (matches(row, filter)) push(row);
      };
      this.bus.on('event', onEvent);
      return () => {
        this.bus.off('event', onEvent);
        this.listeners--;
      };
    }, signal);
  }

  /** One poll loop at a time; it ends by itself once nobody listens. */
  private startPolling(): void {
    if (this.looping) return;
    this.looping = true;
    const tick = () => {
      this.timer = undefined;
      if (this.listeners === 0 || this.closed) {
        this.looping = false;
        this.reset();
        return;
      }
      this.polling = this.poll()
        .catch((e: unknown) => this.logger.warn({ err: (e as Error).message }, 'polling stored cluster events failed'))
        .finally(() => {
          this.timer = setTimeout(tick, this.config.monitoring.events.pollMs);
        });
    };
    tick();
  }

  /** Nobody listens: the next listener starts from what is stored then, not from stale marks. */
  private reset(): void {
    this.floor = undefined;
    this.settled = 0n;
    this.horizon.length = 0;
    this.lastId.clear();
  }

  /** A cluster's mark, raised to the settled horizon so a quiet cluster never holds the poll back. */
  private mark(clusterId: string): bigint {
    const own = this.lastId.get(clusterId) ?? this.floor ?? 0n;
    return own > this.settled ? own : this.settled;
  }

  private emitNew(rows: StoredEvent[]): void {
    for (const row of rows) {
      if (row.id <= this.mark(row.clusterId)) continue;
      this.lastId.set(row.clusterId, row.id);
      this.bus.emit('event', row);
    }
  }

  private async poll(): Promise<void> {
    if (this.floor === undefined) {
      const [top] = await this.prisma.$queryRaw<{ max: bigint | null }[]>`SELECT max("id") AS "max" FROM "ClusterEvent"`;
      // events published before this first poll committed before it, so they are at or below the floor
      this.floor = top?.max ?? 0n;
      this.settled = this.floor;
    }
    const floor = this.floor;
    const from = [...this.lastId.keys()].map((c) => this.mark(c)).reduce((a, b) => (b < a ? b : a), floor > this.settled ? floor : this.settled);
    const rows = await this.prisma.clusterEvent.findMany({ where: { id: { gt: from } }, orderBy: { id: 'asc' }, take: POLL_BATCH });
    this.emitNew(rows);
    // Ids are taken when a transaction inserts and become visible when it commits, so a lower id
    // can appear after a higher one. Ids seen SETTLE_MS ago belong to transactions that have
    // committed since (a batch commits in milliseconds): below them nothing new can appear.
    const now = Date.now();
    const top = rows.at(-1)?.id ?? from;
    this.horizon.push({ at: now, id: top });
    while (this.horizon.length && now - this.horizon[0]!.at >= SETTLE_MS) {
      const { id } = this.horizon.shift()!;
      if (id > this.settled) this.settled = id;
    }
  }

  /** First of the shutdown hooks: Apollo's drain (in GraphQLModule's) waits up to 10 s for open responses. */
  onModuleDestroy() {
    this.closing.abort();
  }

  async onApplicationShutdown() {
    this.closing.abort();
    this.closed = true;
    clearTimeout(this.timer);
    await this.polling;
  }
}
