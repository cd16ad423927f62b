import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { PrismaClient } from '@berth/db';
import type { ClusterEvent } from '@berth/driver';
import { CONFIG, type Config } from '../../config/config.js';
import { LOGGER } from '../../common/logger.js';
import { PRISMA } from '../../database/database.module.js';
import { ClusterDrivers } from '../../drivers/cluster-drivers.service.js';
import { clusterLease, LeaseLostError } from '../leases/lease.service.js';
import { GatewayMetrics } from '../prometheus/gateway-metrics.js';
import { ClusterEventBus } from './cluster-event-bus.js';
import { ClusterWorkers } from '../cluster-workers.js';
import { EventStore } from './event-store.service.js';

/** A batch is written as soon as it is this large, without waiting for the flush interval. */
const MAX_BATCH = 500;
const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 30_000;

export interface WatcherStatus {
  state: 'connecting' | 'streaming' | 'retrying' | 'stopped';
  since: string;
  cursor?: string;
  lastEventAt?: string;
  lastError?: string;
  reconnects: number;
  stored: number;
  lagSeconds?: number;
}

interface ClusterRef {
  id: string;
  name: string;
}

/**
 * Follows one cluster's event stream and stores it. The stored cursor is the only resume point:
 * after a disconnection, a failed write or a restart, the stream is opened again from it, and the
 * driver replays what came after, so nothing is skipped; replayed events that were stored already
 * are dropped by their id, so nothing is doubled.
 */
class EventWatcher {
  private readonly stopping = new AbortController();
  private connection = new AbortController();
  private buffer: ClusterEvent[] = [];
  private flushTimer: NodeJS.Timeout | undefined;
  private writes: Promise<void> = Promise.resolve();
  private writeError: unknown;
  private done: Promise<void> | undefined;
  readonly status: WatcherStatus = { state: 'connecting', since: new Date().toISOString(), reconnects: 0, stored: 0 };

  constructor(
    private readonly cluster: ClusterRef,
    private readonly deps: {
      prisma: PrismaClient;
      drivers: ClusterDrivers;
      store: EventStore;
      bus: ClusterEventBus;
      metrics: GatewayMetrics;
      logger: Logger;
      flushMs: number;
      onLeaseLost: () => void;
    },
  ) {}

  start(): void {
    this.done = this.run().catch((e: unknown) => this.deps.logger.error({ cluster: this.cluster.name, err: e }, 'event watcher crashed'));
  }

  /** Stops reading; what was read is still written (while the lease holds), then the watcher ends. */
  async stop(): Promise<void> {
    this.stopping.abort();
    this.connection.abort();
    await this.done;
  }

  /** Drops the connection as a network failure would; the watcher resumes from the stored cursor. */
  disconnect(): void {
    this.connection.abort();
  }

  private async run(): Promise<void> {
    const { metrics, logger } = this.deps;
    const labels = { cluster: this.cluster.name };
    let failures = 0;
    while (!this.stopping.signal.aborted) {
      this.connection = new AbortController();
      this.writeError = undefined;
      let failure: unknown;
      try {
        const row = await this.deps.prisma.cluster.findUnique({ where: { id: this.cluster.id } });
        if (!row) return; // removed: the supervisor lets the lease go
        const driver = this.deps.drivers.for(row);
        this.status.cursor = row.eventCursor ?? undefined;
        const stream = driver.events({
          ...(row.eventCursor ? { since: row.eventCursor } : {}),
          signal: AbortSignal.any([this.connection.signal, this.stopping.signal]),
        });
        this.status.state = 'streaming';
        metrics.watcherUp.set(labels, 1);
        logger.info({ cluster: this.cluster.name, cursor: row.eventCursor }, 'following cluster events');
        for await (const event of stream) {
          this.buffer.push(event);
          if (this.buffer.length >= MAX_BATCH) await this.flush();
          else this.flushTimer ??= setTimeout(() => void this.flush(), this.deps.flushMs);
          failures = 0;
        }
      } catch (e) {
        failure = e;
      }
      // the stream is over (closed, dropped or failed): write what was read before deciding anything
      await this.flush();
      failure ??= this.writeError;
      metrics.watcherUp.set(labels, 0);
      if (this.writeError instanceof LeaseLostError) {
        logger.warn({ cluster: this.cluster.name }, 'event watcher lost its lease; another replica follows this cluster now');
        this.deps.onLeaseLost();
        break;
      }
      if (this.stopping.signal.aborted) break;
      if (failure) {
        this.status.lastError = failure instanceof Error ? failure.message : String(failure);
        logger.warn({ cluster: this.cluster.name, err: this.status.lastError }, 'cluster event stream failed; resuming from the stored cursor');
      }
      // a stream the driver ended by itself (connection evicted, engine restarted) is also resumed
      this.status.state = 'retrying';
      this.status.reconnects++;
      metrics.watcherReconnects.inc(labels);
      const delay = failure ? Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** failures++) : RETRY_MIN_MS;
      await sleep(delay, undefined, { signal: this.stopping.signal }).catch(() => undefined);
    }
    this.status.state = 'stopped';
    metrics.watcherUp.remove(labels);
    metrics.watcherLag.remove(labels);
  }

  /** Writes the buffer; one write at a time, in stream order. A failed write ends the connection. */
  private flush(): Promise<void> {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    const batch = this.buffer;
    this.buffer = [];
    if (batch.length === 0) return this.writes;
    this.writes = this.writes.then(async () => {
      // after a failed write the rest of this connection is not written: it is read again from the cursor
      if (this.writeError) return;
      try {
        const rows = await this.deps.store.store(this.cluster.id, clusterLease(this.cluster.id), batch);
        const newest = batch.at(-1)!;
        this.status.cursor = newest.cursor;
        this.status.lastEventAt = newest.time;
        this.status.stored += rows.length;
        this.status.lagSeconds = Math.max(0, (Date.now() - Date.parse(newest.time)) / 1000);
        this.deps.metrics.watcherLag.set({ cluster: this.cluster.name }, this.status.lagSeconds);
        this.deps.metrics.eventsStored.inc({ cluster: this.cluster.name }, rows.length);
        this.deps.bus.publishStored(rows);
      } catch (e) {
        this.writeError = e;
        this.connection.abort();
      }
    });
    return this.writes;
  }
}

/** The event watchers this replica runs: one per cluster whose lease it holds. */
@Injectable()
export class EventWatcherService implements OnApplicationShutdown {
  private readonly watchers = new ClusterWorkers<EventWatcher>();

  constructor(
    @Inject(PRISMA) private readonly prisma: PrismaClient,
    private readonly drivers: ClusterDrivers,
    private readonly store: EventStore,
    private readonly bus: ClusterEventBus,
    private readonly metrics: GatewayMetrics,
    @Inject(CONFIG) private readonly config: Config,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  start(cluster: ClusterRef, onLeaseLost: () => void): void {
    this.watchers.start(
      cluster.id,
      () =>
        new EventWatcher(cluster, {
          prisma: this.prisma,
          drivers: this.drivers,
          store: this.store,
          bus: this.bus,
          metrics: this.metrics,
          logger: this.logger,
          flushMs: this.config.monitoring.events.flushMs,
          onLeaseLost,
        }),
    );
  }

  stop(clusterId: string): Promise<void> {
    return this.watchers.stop(clusterId);
  }

  running(clusterId: string): boolean {
    return this.watchers.running(clusterId);
  }

  status(clusterId: string): WatcherStatus | undefined {
    return this.watchers.get(clusterId)?.status;
  }

  /** Simulates a dropped connection (tests, and an operator forcing a resume). */
  disconnect(clusterId: string): boolean {
    const watcher = this.watchers.get(clusterId);
    watcher?.disconnect();
    return !!watcher;
  }

  async onApplicationShutdown() {
    await this.watchers.stopAll();
  }
}
