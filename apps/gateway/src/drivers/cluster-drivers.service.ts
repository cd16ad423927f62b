import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type { Logger } from 'pino';
import { type ClusterConnection, type DriverOptions, guardDriver, type OrchestratorDriver, type ReadModelStatus } from '@berth/driver';
import { CONFIG, type Config } from '../config/config.js';
import { LOGGER } from '../common/logger.js';
import { SecretBox } from '../secrets/secret-box.js';
import { DRIVER_FACTORY, type DriverFactory } from './driver.factory.js';

export interface StoredCluster {
  id: string;
  name: string;
  credentials: Uint8Array;
  keyId: string;
}

/** One guarded driver per registered cluster, opened from its sealed credentials when first needed. */
@Injectable()
export class ClusterDrivers implements OnApplicationShutdown {
  private readonly drivers = new Map<string, OrchestratorDriver>();

  constructor(
    @Inject(DRIVER_FACTORY) private readonly factory: DriverFactory,
    private readonly box: SecretBox,
    @Inject(CONFIG) private readonly config: Config,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /** A driver for a connection not stored yet (registration probes the cluster with it): no read model. */
  open(connection: ClusterConnection, clusterName: string, options: DriverOptions = {}): OrchestratorDriver {
    return guardDriver(this.factory(connection, options), {
      timeoutMs: this.config.driverTimeoutMs,
      slowTimeoutMs: this.config.driverAppTimeoutMs,
      onCall: ({ method, ms, error }) => {
        if (error) this.logger.warn({ cluster: clusterName, method, ms: Math.round(ms), err: (error as Error).message }, 'driver call failed');
        else this.logger.debug({ cluster: clusterName, method, ms: Math.round(ms) }, 'driver call');
      },
    });
  }

  for(cluster: StoredCluster): OrchestratorDriver {
    let driver = this.drivers.get(cluster.id);
    if (!driver) {
      const connection = JSON.parse(this.box.open(cluster.credentials, cluster.keyId)) as ClusterConnection;
      // every replica keeps its own read model of the clusters it serves: see monitoring/README.md
      const { enabled, resyncMs } = this.config.readModel;
      driver = this.open(connection, cluster.name, enabled ? { readModel: { resyncMs } } : {});
      this.drivers.set(cluster.id, driver);
    }
    return driver;
  }

  /** The read model of a cluster's driver, when this replica has opened it (undefined otherwise, or when it does not answer). */
  async readModel(clusterId: string): Promise<ReadModelStatus | undefined> {
    return this.drivers
      .get(clusterId)
      ?.readModel()
      .catch(() => undefined);
  }

  /** Forgets a cluster's driver (its connection changed or it was removed). */
  async evict(clusterId: string): Promise<void> {
    const driver = this.drivers.get(clusterId);
    this.drivers.delete(clusterId);
    await driver?.close().catch(() => undefined);
  }

  async onApplicationShutdown() {
    await Promise.allSettled([...this.drivers.values()].map((d) => d.close()));
    this.drivers.clear();
  }
}
