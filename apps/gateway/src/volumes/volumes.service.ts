import { Injectable } from '@nestjs/common';
import { z } from 'zod';
import type { VolumeInfo } from '@berth/driver';
import { DnsLabel, VolumeDefinition, parseOrThrow } from '@berth/model';
import { ClustersService } from '../clusters/clusters.service.js';
import { requestContext } from '../common/request-context.js';
import { visibleApps } from '../auth/access.js';
import { type OperationView, operationView } from '../operations/operation.views.js';
import { OperationsService } from '../operations/operations.service.js';
import type { Caller } from '../common/caller.js';

export const CreateVolumeRequest = VolumeDefinition.extend({
  app: DnsLabel,
  name: DnsLabel,
  /** named: one node's storage (local volume, ReadWriteOnce claim); shared: reachable from every node. */
  kind: z.enum(['named', 'shared']),
}).strict();

@Injectable()
export class VolumesService {
  constructor(
    private readonly clusters: ClustersService,
    private readonly operations: OperationsService,
  ) {}

  async list(clusterRef: string, app?: string): Promise<VolumeInfo[]> {
    const { cluster, driver } = await this.clusters.driverFor(clusterRef);
    const principal = requestContext.principal();
    const visible = principal ? visibleApps(principal, cluster.id) : 'all';
    return (await driver.listVolumes(app)).filter((v) => visible === 'all' || (v.app !== undefined && visible.has(v.app)));
  }

  async create(clusterRef: string, raw: unknown, caller: Caller): Promise<{ volume: VolumeInfo; operation: OperationView }> {
    const { app, name, ...definition } = parseOrThrow(CreateVolumeRequest, raw, 'volume');
    const { cluster, driver } = await this.clusters.driverFor(clusterRef);
    const { operation } = await this.operations.begin({
      clusterId: cluster.id,
      kind: 'volume_create',
      requester: caller.requester,
      idempotencyKey: caller.idempotencyKey,
      request: { app, name, ...definition },
    });
    const volume = await this.operations.run(operation, () => driver.createVolume(app, name, definition));
    const closed = await this.operations.afterCall(operation, { type: 'none' }, { volume: volume.nativeName });
    return { volume, operation: operationView(closed) };
  }

  async remove(clusterRef: string, app: string, name: string, caller: Caller): Promise<{ operation: OperationView }> {
    const { cluster, driver } = await this.clusters.driverFor(clusterRef);
    const { operation } = await this.operations.begin({
      clusterId: cluster.id,
      kind: 'volume_remove',
      requester: caller.requester,
      idempotencyKey: caller.idempotencyKey,
      request: { app, name },
    });
    await this.operations.run(operation, () => driver.removeVolume(app, name));
    return { operation: operationView(await this.operations.afterCall(operation, { type: 'none' })) };
  }
}
