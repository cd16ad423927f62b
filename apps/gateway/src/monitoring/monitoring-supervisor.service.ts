import { type BeforeApplicationShutdown, Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { Logger } from 'pino';
import type { PrismaClient } from '@berth/db';
import { CONFIG, type Config } from '../config/config.js';
import { LOGGER } from '../common/logger.js';
import { type Principal, requestContext } from '../common/request-context.js';
import { seesCluster } from '../auth/access.js';
import { PRISMA } from '../database/database.module.js';
import { type CollectorStatus, MetricsCollectorService } from './metrics/metrics-collector.service.js';
import { MetricRollupService } from './metrics/metric-rollup.service.js';
import { EventWatcherService, type WatcherStatus } from './events/event-watcher.service.js';
import { clusterLease, LeaseService, ROLLUP_LEASE } from './leases/lease.service.js';
import { GatewayMetrics } from './prometheus/gateway-metrics.js';
import { ClusterDrivers } from '../drivers/cluster-drivers.service.js';
import type { ReadModelStatus } from '@berth/driver';

export interface ClusterMonitorView {
  cluster: string;
  clusterId: string;
  kind: string;
  /** The replica running this cluster's watcher and collector; absent when nobody holds the lease. */
  owner?: string;
  ownedSince?: string;
  leaseExpiresAt?: string;
  /** This replica is the owner. */
  local: boolean;
  events?: WatcherStatus;
  metrics?: CollectorStatus;
  /** This replica's read model of the cluster, when it has opened the cluster's driver. */
  readModel?: ReadModelStatus;
}

export interface MonitoringView {
  instance: string;
  enabled: boolean;
  leaseTtlMs: number;
  clusters: ClusterMonitorView[];
  rollup: { owner?: string; leaseExpiresAt?: string; local: boolean; status?: unknown };
}

/**
 * Decides what background work runs on this replica. Every tick it tries to take or renew the
 * lease of each registered cluster (and of the rollup job) and starts or stops the cluster's event
 * watcher and metrics collector to match, so each runs on exactly one replica while it holds the
 * lease, and moves to another replica within one lease term after its owner dies. A replica that
 * cannot reach the database stops its work before its leases can lapse, not after.
 */
@Injectable()
export class MonitoringSupervisor implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  /** Leases held, with when each was last renewed (this replica's clock). */
  private readonly held = new Map<string, number>();
  private readonly clusters = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private stopped = false;

  constructor(
    @Inject(PRISMA) private readonly prisma: PrismaClient,
    private readonly leases: LeaseService,
    private readonly watchers: EventWatcherService,
    private readonly collectors: MetricsCollectorService,
    private readonly rollup: MetricRollupService,
    private readonly metrics: GatewayMetrics,
    private readonly drivers: ClusterDrivers,
    @Inject(CONFIG) private readonly config: Config,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  private get tickMs(): number {
    return Math.max(200, Math.floor(this.config.monitoring.leaseTtlMs / 3));
  }

  onApplicationBootstrap() {
    if (!this.config.monitoring.enabled) {
      this.logger.info('monitoring is off (BERTH_MONITORING=false): no events or metrics are recorded by this replica');
      return;
    }
    this.logger.info({ instance: this.leases.instanceId, leaseTtlMs: this.config.monitoring.leaseTtlMs }, 'monitoring supervisor started');
    const loop = () => {
      this.ticking = this.tick()
        .catch((e: unknown) => this.logger.warn({ err: (e as Error).message }, 'monitoring supervisor tick failed'))
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(loop, this.tickMs);
        });
    };
    loop();
  }

  /** Runs before the database closes (its own onApplicationShutdown), so leases are released cleanly. */
  async beforeApplicationShutdown() {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.timer);
    await this.ticking;
    const clusterIds = [...this.clusters.keys()].filter((id) => this.held.has(clusterLease(id)));
    await Promise.allSettled([...clusterIds.map((id) => this.stopCluster(id)), this.rollup.stop()]);
    await Promise.allSettled([...this.held.keys()].map((name) => this.leases.release(name)));
    this.held.clear();
    this.metrics.leasesOwned.set(0);
  }

  async onApplicationShutdown() {
    await this.beforeApplicationShutdown();
  }

  private async tick(): Promise<void> {
    const rows = await this.prisma.cluster.findMany({ select: { id: true, name: true } });
    if (this.stopped) return;
    const present = new Set(rows.map((r) => r.id));
    for (const [id] of this.clusters) {
      if (present.has(id)) continue;
      // removed cluster: its rows (events, samples) are gone with it; so is its lease
      await this.stopCluster(id);
      await this.leases.forget([clusterLease(id)]).catch(() => undefined);
      this.clusters.delete(id);
    }
    for (const row of rows) {
      if (this.stopped) return;
      this.clusters.set(row.id, row.name);
      const name = clusterLease(row.id);
      const status = { cluster: row.name, events: this.watchers.status(row.id), metrics: this.collectors.status(row.id) };
      const owned = await this.hold(name, status);
      if (owned && !this.watchers.running(row.id)) {
        this.logger.info({ cluster: row.name, instance: this.leases.instanceId }, 'took over monitoring of the cluster');
        this.watchers.start(row, () => void this.lose(row.id));
        this.collectors.start(row);
      } else if (!owned && this.watchers.running(row.id)) {
        this.logger.warn({ cluster: row.name }, "lost the cluster's monitoring lease; stopping its watcher and collector");
        await this.stopCluster(row.id);
      }
    }
    const rollupOwned = await this.hold(ROLLUP_LEASE, { rollup: this.rollup.status });
    // housekeeping by one replica: the rollup job's owner
    if (rollupOwned) await this.leases.forgetOrphans();
    if (rollupOwned && !this.rollup.running()) this.rollup.start();
    else if (!rollupOwned && this.rollup.running()) await this.rollup.stop();
    this.metrics.leasesOwned.set(this.held.size);
  }

  /** Takes or renews a lease. When the database does not answer, work is kept only while the lease surely still holds. */
  private async hold(name: string, status: Record<string, unknown>): Promise<boolean> {
    try {
      const owned = await this.leases.acquire(name, status);
      if (owned) this.held.set(name, Date.now());
      else this.held.delete(name);
      return owned;
    } catch (e) {
      const renewed = this.held.get(name);
      // the lease may lapse one term after the last renewal: stop a tick before that
      const safe = renewed !== undefined && Date.now() - renewed < this.config.monitoring.leaseTtlMs - this.tickMs;
      this.logger.warn({ lease: name, err: (e as Error).message, keeping: safe }, 'could not renew a monitoring lease');
      if (!safe) this.held.delete(name);
      return safe;
    }
  }

  private async lose(clusterId: string): Promise<void> {
    this.held.delete(clusterLease(clusterId));
    await this.stopCluster(clusterId);
  }

  private async stopCluster(clusterId: string): Promise<void> {
    await Promise.allSettled([this.watchers.stop(clusterId), this.collectors.stop(clusterId)]);
  }

  /** Who runs what, from the leases (so any replica answers for all) and this replica's own state. */
  async view(principal: Principal | undefined = requestContext.principal()): Promise<MonitoringView> {
    const [leases, all] = await Promise.all([
      this.leases.list(),
      this.prisma.cluster.findMany({ select: { id: true, name: true, kind: true }, orderBy: { name: 'asc' } }),
    ]);
    const clusters = all.filter((c) => !principal || seesCluster(principal, c.id));
    const readModels = new Map(await Promise.all(clusters.map(async (c) => [c.id, await this.drivers.readModel(c.id)] as const)));
    const byName = new Map(leases.filter((l) => l.live).map((l) => [l.name, l]));
    const rollup = byName.get(ROLLUP_LEASE);
    return {
      instance: this.leases.instanceId,
      enabled: this.config.monitoring.enabled,
      leaseTtlMs: this.config.monitoring.leaseTtlMs,
      clusters: clusters.map((c) => {
        const lease = byName.get(clusterLease(c.id));
        const local = !!lease && lease.owner === this.leases.instanceId;
        const reported = (lease?.status ?? {}) as { events?: WatcherStatus; metrics?: CollectorStatus };
        return {
          cluster: c.name,
          clusterId: c.id,
          kind: c.kind,
          ...(lease ? { owner: lease.owner, ownedSince: lease.acquiredAt.toISOString(), leaseExpiresAt: lease.expiresAt.toISOString() } : {}),
          local,
          events: (local ? this.watchers.status(c.id) : undefined) ?? reported.events,
          metrics: (local ? this.collectors.status(c.id) : undefined) ?? reported.metrics,
          ...(readModels.get(c.id) ? { readModel: readModels.get(c.id) } : {}),
        };
      }),
      rollup: {
        ...(rollup ? { owner: rollup.owner, leaseExpiresAt: rollup.expiresAt.toISOString() } : {}),
        local: !!rollup && rollup.owner === this.leases.instanceId,
        status: rollup?.owner === this.leases.instanceId ? this.rollup.status : (rollup?.status as { rollup?: unknown } | undefined)?.rollup,
      },
    };
  }
}
