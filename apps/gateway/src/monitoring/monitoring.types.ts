import { Field, Float, ID, Int, ObjectType } from '@nestjs/graphql';
import { GraphQLDateTime, GraphQLJSONObject } from 'graphql-scalars';
import { MetricsCollectionStateGql, OrchestratorKindGql } from '../graphql/enums.js';

@ObjectType('ClusterEvent', { description: 'An orchestrator event Berth recorded' })
export class ClusterEventType {
  @Field(() => ID, { description: "Position in Berth's history" }) id!: string;
  @Field() cluster!: string;
  @Field() clusterId!: string;
  @Field({ description: "The orchestrator's own id of the event" }) eventId!: string;
  @Field(() => GraphQLDateTime, { description: 'When the orchestrator emitted it' }) time!: string;
  @Field({ description: 'The native kind: service, container, node, ... (Swarm); Pod, Deployment, ... (Kubernetes)' }) kind!: string;
  @Field() name!: string;
  @Field({ nullable: true }) app?: string;
  @Field({ nullable: true }) service?: string;
  @Field() action!: string;
  @Field({ nullable: true }) message?: string;
  @Field(() => GraphQLJSONObject) attributes!: object;
  @Field({ nullable: true, description: 'The operation that was running on its app or service' }) operationId?: string;
}

@ObjectType('ClusterEventPage')
export class ClusterEventPageType {
  @Field(() => [ClusterEventType]) items!: ClusterEventType[];
  @Field({ nullable: true }) nextCursor?: string;
}

@ObjectType('MetricPoint')
export class MetricPointType {
  @Field(() => GraphQLDateTime) time!: string;
  @Field(() => Float) cpuCores!: number;
  @Field(() => Float) cpuCoresMax!: number;
  @Field(() => Float) memoryBytes!: number;
  @Field(() => Float) memoryMaxBytes!: number;
  @Field(() => Float, { nullable: true }) memoryLimitBytes?: number;
  @Field(() => Float, { nullable: true }) netRxBytesPerSecond?: number;
  @Field(() => Float, { nullable: true }) netTxBytesPerSecond?: number;
  @Field(() => Float, { nullable: true }) blockReadBytesPerSecond?: number;
  @Field(() => Float, { nullable: true }) blockWriteBytesPerSecond?: number;
  @Field(() => Int) replicas!: number;
  @Field(() => Int) samples!: number;
}

@ObjectType('MetricSeries')
export class MetricSeriesType {
  @Field({ nullable: true }) app?: string;
  @Field({ nullable: true }) service?: string;
  @Field({ nullable: true }) replica?: string;
  @Field(() => [MetricPointType]) points!: MetricPointType[];
}

@ObjectType('MetricsCollection', { description: 'Whether the cluster is sampled, and why not' })
export class MetricsCollectionType {
  @Field(() => MetricsCollectionStateGql) state!: string;
  @Field({ nullable: true }) message?: string;
  @Field({ nullable: true }) owner?: string;
  @Field(() => GraphQLDateTime, { nullable: true }) lastSampleAt?: string;
}

@ObjectType('MetricsHistory')
export class MetricsHistoryType {
  @Field() cluster!: string;
  @Field(() => GraphQLDateTime) from!: string;
  @Field(() => GraphQLDateTime) to!: string;
  @Field() step!: string;
  @Field(() => Int) stepMs!: number;
  @Field({ description: 'The stored resolution the answer came from: raw, minute or hour' }) resolution!: string;
  @Field(() => [MetricSeriesType]) series!: MetricSeriesType[];
  @Field(() => MetricsCollectionType) collection!: MetricsCollectionType;
}

@ObjectType('LogLine')
export class LogLineType {
  @Field(() => GraphQLDateTime, { nullable: true }) time?: string;
  @Field({ description: 'Swarm task slot (or node of a global service), Kubernetes pod name' }) replica!: string;
  @Field() stream!: string;
  @Field() line!: string;
}

@ObjectType('ClusterMonitor')
export class ClusterMonitorType {
  @Field() cluster!: string;
  @Field() clusterId!: string;
  @Field(() => OrchestratorKindGql) kind!: string;
  @Field({ nullable: true, description: 'The gateway replica running the watcher and collector' }) owner?: string;
  @Field(() => GraphQLDateTime, { nullable: true }) ownedSince?: string;
  @Field(() => GraphQLDateTime, { nullable: true }) leaseExpiresAt?: string;
  @Field() local!: boolean;
  @Field(() => GraphQLJSONObject, { nullable: true }) events?: object;
  @Field(() => GraphQLJSONObject, { nullable: true }) metrics?: object;
}

@ObjectType('MonitoringStatus')
export class MonitoringStatusType {
  @Field() instance!: string;
  @Field() enabled!: boolean;
  @Field(() => Int) leaseTtlMs!: number;
  @Field(() => [ClusterMonitorType]) clusters!: ClusterMonitorType[];
}
