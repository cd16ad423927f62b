import { Module } from '@nestjs/common';
import { ClustersModule } from '../clusters/clusters.module.js';
import { ChangesModule } from '../changes/changes.module.js';
import { WorkloadPolicyModule } from '../policy/workload-policy.module.js';
import { AppsController } from './apps.controller.js';
import { AppsService } from './apps.service.js';
import { AppSecretsService } from '../secrets/app-secrets.service.js';

@Module({
  imports: [ClustersModule, ChangesModule, WorkloadPolicyModule],
  providers: [AppsService, AppSecretsService],
  controllers: [AppsController],
  exports: [AppsService],
})
export class AppsModule {}
