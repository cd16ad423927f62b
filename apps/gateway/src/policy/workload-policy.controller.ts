import { Body, Controller, Get, Param, Put } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { WorkloadPolicy } from '@berth/model';
import { RequireAccess } from '../auth/auth.decorators.js';
import { ApiContract } from '../common/openapi.js';
import { WorkloadPolicyService } from './workload-policy.service.js';

export const WorkloadPolicyViewSchema = z.object({
  cluster: z.string(),
  policy: WorkloadPolicy,
  isDefault: z.boolean().describe('no admin has set a policy on this cluster: the default applies'),
  updatedBy: z.string().optional(),
  updatedAt: z.string().optional(),
});

@ApiTags('policy')
@Controller('v1/clusters/:cluster/policy')
@RequireAccess('admin')
export class WorkloadPolicyController {
  constructor(private readonly policies: WorkloadPolicyService) {}

  @Get()
  @ApiContract({
    response: WorkloadPolicyViewSchema,
    description: "The cluster's workload policy: what tokens below cluster admin may give a workload (admins of the cluster only)",
  })
  get(@Param('cluster') cluster: string) {
    return this.policies.get(cluster);
  }

  @Put()
  @ApiContract({
    body: WorkloadPolicy,
    response: WorkloadPolicyViewSchema,
    description:
      "Replaces the cluster's workload policy (`{}` restores the default: no host paths, no privileged mode, no added capabilities beyond the baseline set, " +
      'no host network/PID/IPC, no devices, no host-mode ports below 1024, any image). Applies to every later write, rollbacks included; audited with the policy before and after.',
  })
  set(@Param('cluster') cluster: string, @Body() body: unknown) {
    return this.policies.set(cluster, body);
  }
}
