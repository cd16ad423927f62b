import { Injectable } from '@nestjs/common';
import { z } from 'zod';
import type { ReadOptions, VolumeInfo } from '@berth/driver';
import { type ObservationView, observationView } from '../common/read-consistency.js';
import { DnsLabel, VolumeDefinition, parseOrThrow } from '@berth/model';
import { ClustersService } from '../clusters/clusters.service.js';
import { requestContext } from '../common/request-context.js';
import { visibleApps } from '../auth/access.js';
import { type OperationView, operationView } from '../changes/operation.views.js';
import { ChangePipeline } from '../changes/change-pipeline.service.js';
import { BerthError } from '../common/errors.js';
import type { Caller } from '../common/caller.js';
import { WorkloadPolicyService } from '../policy/workload-policy.service.js';

export const CreateVolumeRequest = VolumeDefinition.extend({
  app: DnsLabel,
  name: DnsLabel,
  /** named: one node's storage (local volume, ReadWriteOnce claim); shared: reachable from every node. */
  kind: z.enum(['named', 'shared']),
}).strict();

export type VolumeView = Omit<VolumeInfo, 'observed'> & { observed: ObservationView };

export function volumeView(v: VolumeInfo): VolumeView {
  return { ...v, observed: observationView(v.observed) };
}

@Injectable()
export class VolumesService {
  constructor(
    private readonly clusters: ClustersService,
    private readonly pipeline: ChangePipeline,
    private readonly policy: WorkloadPolicyService,
  ) {}

  async list(clusterRef: string, app?: string, read: ReadOptions = {}): Promise<VolumeView[]> {
    const { cluster, driver } = await this.clusters.driverFor(clusterRef);
    const principal = requestContext.principal();
    const visible = principal ? visibleApps(principal, cluster.id) : 'all';
    return (await driver.listVolumes(app, read)).filter((v) => visible === 'all' || (v.app !== undefined && visible.has(v.app))).map(volumeView);
  }

  async create(clusterRef: string, raw: unknown, caller: Caller): Promise<{ volume: VolumeInfo; operation: OperationView }> {
    const { app, name, ...definition } = parseOrThrow(CreateVolumeRequest, raw, 'volume');
    const { cluster, driver } = await this.clusters.driverFor(clusterRef);
    await this.policy.enforce(cluster, { kind: 'volume', app, definition }, `volume "${name}" of app "${app}"`);
    const { operation, value } = await this.pipeline.execute(
      { clusterId: cluster.id, kind: 'volume_create', request: { app, name, ...definition } },
      caller,
      async () => {
        const volume = await driver.createVolume(app, name, definition);
        return { value: volume, follow: { type: 'none' }, result: { volume: volume.nativeName } };
      },
    );
    // a replayed request reads back the volume the first one created
    const volume = value ?? (await driver.listVolumes(app)).find((v) => v.name === name);
    if (!volume) throw BerthError.notFound(`volume "${name}" of app "${app}" (created by operation ${operation.id}, since removed)`);
    return { volume, operation: operationView(operation) };
  }

  async remove(clusterRef: string, app: string, name: string, caller: Caller): Promise<{ operation: OperationView }> {
    const { cluster, driver } = await this.clusters.driverFor(clusterRef);
    const { operation } = await this.pipeline.execute({ clusterId: cluster.id, kind: 'volume_remove', request: { app, name } }, caller, async () => {
      await driver.removeVolume(app, name);
      return { value: undefined, follow: { type: 'none' } };
    });
    return { operation: operationView(operation) };
  }
}
