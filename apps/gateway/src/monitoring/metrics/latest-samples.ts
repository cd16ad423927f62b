import { Injectable } from '@nestjs/common';
import type { StatsSample } from '@berth/driver';

/** The last batch each local collector read, per cluster: what /metrics shows as the current container metrics. */
@Injectable()
export class LatestSamples {
  private readonly byCluster = new Map<string, { cluster: string; samples: StatsSample[] }>();

  set(clusterId: string, cluster: string, samples: StatsSample[]): void {
    this.byCluster.set(clusterId, { cluster, samples });
  }

  /** A cluster whose collector stopped here (lost lease, removed) must not keep exporting stale values. */
  drop(clusterId: string): void {
    this.byCluster.delete(clusterId);
  }

  all(): { cluster: string; samples: StatsSample[] }[] {
    return [...this.byCluster.values()];
  }
}
