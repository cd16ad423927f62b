import { GraphQLDateTime } from 'graphql-scalars';
import { Field, Float, ID, InputType, Int, ObjectType } from '@nestjs/graphql';
import { ClusterHealthStatusGql, NodeAvailabilityGql, NodeRoleGql, NodeStatusGql, OrchestratorKindGql } from '../graphql/enums.js';

type Kind = 'swarm' | 'kubernetes';

@ObjectType('Label')
export class LabelType {
  @Field() key!: string;
  @Field() value!: string;
}

@InputType('LabelInput', { description: 'A label of a cluster' })
export class LabelInput {
  @Field({ description: 'The label key' }) key!: string;
  @Field({ description: 'Its value' }) value!: string;
}

@ObjectType('ClusterHealth')
export class ClusterHealthType {
  @Field(() => ClusterHealthStatusGql) status!: string;
  @Field({ nullable: true }) message?: string;
  @Field(() => Float, { nullable: true }) latencyMs?: number;
  @Field(() => GraphQLDateTime, { nullable: true, description: 'When this was observed' }) checkedAt?: string;
}

@ObjectType('ClusterNode', { description: 'A node of a cluster, read live from the orchestrator' })
export class NodeType {
  @Field() id!: string;
  @Field() name!: string;
  @Field(() => NodeRoleGql) role!: string;
  @Field(() => NodeStatusGql) status!: string;
  @Field(() => NodeAvailabilityGql, { nullable: true }) availability?: string;
  @Field({ nullable: true }) address?: string;
  @Field({ nullable: true }) version?: string;
  @Field(() => Float, { nullable: true }) cpus?: number;
  @Field(() => Float, { nullable: true }) memoryBytes?: number;
  @Field(() => [LabelType]) labels!: LabelType[];
}

@ObjectType('Cluster')
export class ClusterType {
  @Field(() => ID) id!: string;
  @Field() name!: string;
  @Field(() => OrchestratorKindGql) kind!: Kind;
  @Field({ description: 'Where the cluster is (socket, tcp address or API server URL); never credentials' }) endpoint!: string;
  @Field(() => [LabelType]) labels!: LabelType[];
  @Field(() => GraphQLDateTime) createdAt!: string;
  @Field(() => GraphQLDateTime) updatedAt!: string;
  @Field(() => ClusterHealthType) health!: ClusterHealthType;
  @Field({ nullable: true }) version?: string;
  @Field(() => [NodeType], { nullable: true, description: 'Live node list (only when the cluster answered)' }) nodes?: NodeType[];
  @Field(() => Int, { nullable: true }) nodeCount?: number;
}

@InputType('TlsInput', { description: 'TLS material for a Swarm tcp:// endpoint (PEM); stored sealed, never returned' })
export class TlsInput {
  @Field({ nullable: true, description: 'The CA certificate the engine is checked against' }) ca?: string;
  @Field({ nullable: true, description: 'The client certificate' }) cert?: string;
  @Field({ nullable: true, description: 'The client key' }) key?: string;
}

@InputType('RegisterClusterInput', { description: 'A cluster to register: where it is and how Berth reaches it' })
export class RegisterClusterInput {
  @Field({ description: 'The name the API uses for the cluster (a DNS label)' }) name!: string;
  @Field(() => OrchestratorKindGql, { description: 'Its orchestrator' }) kind!: Kind;
  @Field(() => [LabelInput], { nullable: true, description: 'Labels of the cluster' }) labels?: LabelInput[];
  @Field({ nullable: true, description: 'Swarm: unix socket path' }) socketPath?: string;
  @Field({ nullable: true, description: 'Swarm: tcp://HOST:PORT' }) host?: string;
  @Field(() => TlsInput, { nullable: true, description: 'Swarm: TLS for a tcp:// host' }) tls?: TlsInput;
  @Field({ nullable: true, description: 'Kubernetes: kubeconfig content' }) kubeconfig?: string;
  @Field({ nullable: true, description: 'Kubernetes: context name' }) context?: string;
}

@InputType('UpdateClusterInput', { description: 'What changes about a registered cluster; fields left out stay as they are' })
export class UpdateClusterInput {
  @Field(() => [LabelInput], { nullable: true, description: 'Replaces the labels' }) labels?: LabelInput[];
  @Field({ nullable: true, description: 'Swarm: unix socket path' }) socketPath?: string;
  @Field({ nullable: true, description: 'Swarm: tcp://HOST:PORT' }) host?: string;
  @Field(() => TlsInput, { nullable: true, description: 'Swarm: TLS for a tcp:// host' }) tls?: TlsInput;
  @Field({ nullable: true, description: 'Kubernetes: kubeconfig content' }) kubeconfig?: string;
  @Field({ nullable: true, description: 'Kubernetes: context name' }) context?: string;
}
