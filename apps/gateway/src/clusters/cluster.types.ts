import { GraphQLDateTime } from 'graphql-scalars';
import { Field, Float, ID, InputType, Int, ObjectType } from '@nestjs/graphql';
import { ClusterHealthStatusGql, NodeAvailabilityGql, NodeRoleGql, NodeStatusGql, OrchestratorKindGql } from '../graphql/enums.js';

type Kind = 'swarm' | 'kubernetes';

@ObjectType('Label', { description: 'A label: a key and its value' })
export class LabelType {
  @Field({ description: 'The label key' }) key!: string;
  @Field({ description: 'Its value' }) value!: string;
}

@InputType('LabelInput', { description: 'A label of a cluster' })
export class LabelInput {
  @Field({ description: 'The label key' }) key!: string;
  @Field({ description: 'Its value' }) value!: string;
}

@ObjectType('ClusterHealth', { description: 'Whether Berth can reach the cluster' })
export class ClusterHealthType {
  @Field(() => ClusterHealthStatusGql, { description: 'Whether it answered, and in time' }) status!: string;
  @Field({ nullable: true, description: 'Why it is not healthy' }) message?: string;
  @Field(() => Float, { nullable: true, description: 'How long the check took, in milliseconds' }) latencyMs?: number;
  @Field(() => GraphQLDateTime, { nullable: true, description: 'When this was observed' }) checkedAt?: string;
}

@ObjectType('ClusterNode', { description: 'A node of a cluster, read live from the orchestrator' })
export class NodeType {
  @Field({ description: "The orchestrator's node id" }) id!: string;
  @Field({ description: 'Its hostname' }) name!: string;
  @Field(() => NodeRoleGql, { description: 'What the node does in its cluster' }) role!: string;
  @Field(() => NodeStatusGql, { description: 'Whether the node is up' }) status!: string;
  @Field(() => NodeAvailabilityGql, { nullable: true, description: 'Whether it takes new replicas (a cordoned Kubernetes node is PAUSE)' })
  availability?: string;
  @Field({ nullable: true, description: 'Its IP address' }) address?: string;
  @Field({ nullable: true, description: 'Its engine or kubelet version' }) version?: string;
  @Field(() => Float, { nullable: true, description: 'CPUs it has' }) cpus?: number;
  @Field(() => Float, { nullable: true, description: 'Memory it has, in bytes' }) memoryBytes?: number;
  @Field(() => [LabelType], { description: 'Its labels' }) labels!: LabelType[];
}

@ObjectType('Cluster', { description: 'A registered Swarm or Kubernetes cluster' })
export class ClusterType {
  @Field(() => ID, { description: "Berth's id of the cluster" }) id!: string;
  @Field({ description: 'The name the API uses for it' }) name!: string;
  @Field(() => OrchestratorKindGql, { description: 'Its orchestrator' }) kind!: Kind;
  @Field({ description: 'Where the cluster is (socket, tcp address or API server URL); never credentials' }) endpoint!: string;
  @Field(() => [LabelType], { description: 'Its labels' }) labels!: LabelType[];
  @Field(() => GraphQLDateTime, { description: 'When it was registered' }) createdAt!: string;
  @Field(() => GraphQLDateTime, { description: 'When its registration last changed' }) updatedAt!: string;
  @Field(() => ClusterHealthType, { description: 'Whether Berth can reach it now' }) health!: ClusterHealthType;
  @Field({ nullable: true, description: "The orchestrator's version (Docker engine or Kubernetes API server)" }) version?: string;
  @Field(() => [NodeType], { nullable: true, description: 'Live node list (only when the cluster answered)' }) nodes?: NodeType[];
  @Field(() => Int, { nullable: true, description: 'How many nodes it has' }) nodeCount?: number;
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
