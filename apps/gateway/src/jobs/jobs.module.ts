import { Module } from '@nestjs/common';
import { ClustersModule } from '../clusters/clusters.module.js';
import { ChangesModule } from '../changes/changes.module.js';
import { WorkloadPolicyModule } from '../policy/workload-policy.module.js';
import { JobsController } from './jobs.controller.js';
import { JobsService } from './jobs.service.js';

@Module({ imports: [ClustersModule, ChangesModule, WorkloadPolicyModule], providers: [JobsService], controllers: [JobsController], exports: [JobsService] })
export class JobsModule {}
