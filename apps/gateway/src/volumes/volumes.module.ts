import { Module } from '@nestjs/common';
import { ClustersModule } from '../clusters/clusters.module.js';
import { ChangesModule } from '../changes/changes.module.js';
import { WorkloadPolicyModule } from '../policy/workload-policy.module.js';
import { VolumesController } from './volumes.controller.js';
import { VolumesService } from './volumes.service.js';

@Module({ imports: [ClustersModule, ChangesModule, WorkloadPolicyModule], providers: [VolumesService], controllers: [VolumesController] })
export class VolumesModule {}
