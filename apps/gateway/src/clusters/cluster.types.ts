import { Field, Float, ID, InputType, Int, ObjectType, registerEnumType } from '@nestjs/graphql';

export enum OrchestratorKindGql {
  swarm = 'swarm',
  kubernetes = 'kubernetes',
}
registerEnumType(OrchestratorKindGql, { name: 'OrchestratorKind' });

@ObjectType('Label')
export class LabelType {
  @Field() key!: string;
  @Field() value!: string;
}

@InputType('LabelInput')
export class LabelInput {
  @Field() key!: string;
  @Field() value!: string;
}

@ObjectType('ClusterHealth')
export class ClusterHealthType {
  @Field({ description: 'healthy, degraded or unreachable' }) status!: string;
  @Field({ nullable: true }) message?: string;
  @Field(() => Float, { nullable: true }) latencyMs?: number;
  @Field({ nullable: true, description: 'When this was observed (ISO 8601)' }) checkedAt?: string;
}

@ObjectType('Node')
export class NodeType {
  @Field() id!: string;
  @Field() name!: string;
  @Field() role!: string;
  @Field() status!: string;
  @Field({ nullable: true }) availability?: string;
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
  @Field(() => OrchestratorKindGql) kind!: OrchestratorKindGql;
  @Field({ description: 'Where the cluster is (socket, tcp address or API server URL); never credentials' }) endpoint!: string;
  @Field(() => [LabelType]) labels!: LabelType[];
  @Field() createdAt!: string;
  @Field() updatedAt!: string;
  @Field(() => ClusterHealthType) health!: ClusterHealthType;
  @Field({ nullable: true }) version?: string;
  @Field(() => [NodeType], { nullable: true, description: 'Live node list (only when the cluster answered)' }) nodes?: NodeType[];
  @Field(() => Int, { nullable: true }) nodeCount?: number;
}

@InputType('TlsInput')
export class TlsInput {
  @Field({ nullable: true }) ca?: string;
  @Field({ nullable: true }) cert?: string;
  @Field({ nullable: true }) key?: string;
}

@InputType('RegisterClusterInput')
export class RegisterClusterInput {
  @Field() name!: string;
  @Field(() => OrchestratorKindGql) kind!: OrchestratorKindGql;
  @Field(() => [LabelInput], { nullable: true }) labels?: LabelInput[];
  @Field({ nullable: true, description: 'Swarm: unix socket path' }) socketPath?: string;
  @Field({ nullable: true, description: 'Swarm: tcp://HOST:PORT' }) host?: string;
  @Field(() => TlsInput, { nullable: true }) tls?: TlsInput;
  @Field({ nullable: true, description: 'Kubernetes: kubeconfig content' }) kubeconfig?: string;
  @Field({ nullable: true, description: 'Kubernetes: context name' }) context?: string;
}

@InputType('UpdateClusterInput')
export class UpdateClusterInput {
  @Field(() => [LabelInput], { nullable: true }) labels?: LabelInput[];
  @Field({ nullable: true }) socketPath?: string;
  @Field({ nullable: true }) host?: string;
  @Field(() => TlsInput, { nullable: true }) tls?: TlsInput;
  @Field({ nullable: true }) kubeconfig?: string;
  @Field({ nullable: true }) context?: string;
}
