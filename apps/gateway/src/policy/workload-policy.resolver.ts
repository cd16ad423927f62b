import { Args, Field, Mutation, ObjectType, Query, Resolver } from '@nestjs/graphql';
import { GraphQLDateTime, GraphQLJSONObject } from 'graphql-scalars';
import { RequireAccess } from '../auth/auth.decorators.js';
import { WorkloadPolicy } from '@berth/model';
import { WorkloadPolicyInput } from '../graphql/inputs.js';
import { fromGraphqlInput } from '../graphql/zod-graphql.js';
import { WorkloadPolicyService, type WorkloadPolicyView } from './workload-policy.service.js';

@ObjectType('WorkloadPolicy', { description: 'What tokens below cluster admin may give a workload on one cluster' })
export class WorkloadPolicyType {
  @Field({ description: 'The cluster it applies to' }) cluster!: string;
  @Field(() => GraphQLJSONObject, {
    description: 'The policy: hostPaths, privileged, capabilities, hostNetwork, hostPid, hostIpc, devices, lowHostPorts, images, apps',
  })
  policy!: object;
  @Field({ description: 'No admin has set a policy: the default applies' }) isDefault!: boolean;
  @Field({ nullable: true, description: 'Who set it last' }) updatedBy?: string;
  @Field(() => GraphQLDateTime, { nullable: true, description: 'When it was set last' }) updatedAt?: string;
}

const toGql = (view: WorkloadPolicyView): WorkloadPolicyType => ({ ...view, policy: view.policy });

@Resolver(() => WorkloadPolicyType)
export class WorkloadPolicyResolver {
  constructor(private readonly policies: WorkloadPolicyService) {}

  @Query(() => WorkloadPolicyType, { description: "The cluster's workload policy (admins of the cluster only)" })
  @RequireAccess('admin')
  async workloadPolicy(@Args('cluster', { description: 'The cluster, by name or id' }) cluster: string) {
    return toGql(await this.policies.get(cluster));
  }

  @Mutation(() => WorkloadPolicyType, { description: "Replaces the cluster's workload policy ({} restores the default); audited" })
  @RequireAccess('admin')
  async setWorkloadPolicy(
    @Args('cluster', { description: 'The cluster, by name or id' }) cluster: string,
    @Args('policy', { type: () => WorkloadPolicyInput, description: 'The whole policy' }) policy: object,
  ) {
    return toGql(await this.policies.set(cluster, fromGraphqlInput(WorkloadPolicy, policy)));
  }
}
