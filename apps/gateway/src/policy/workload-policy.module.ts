import { Module } from '@nestjs/common';
import { ClustersModule } from '../clusters/clusters.module.js';
import { WorkloadPolicyController } from './workload-policy.controller.js';
import { WorkloadPolicyResolver } from './workload-policy.resolver.js';
import { WorkloadPolicyService } from './workload-policy.service.js';

@Module({
  imports: [ClustersModule],
  providers: [WorkloadPolicyService, WorkloadPolicyResolver],
  controllers: [WorkloadPolicyController],
  exports: [WorkloadPolicyService],
})
export class WorkloadPolicyModule {}
