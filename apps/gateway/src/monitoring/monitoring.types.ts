import { Field, Float, ID, Int, ObjectType } from '@nestjs/graphql';
import { GraphQLDateTime, GraphQLJSONObject } from 'graphql-scalars';
import { MetricsCollectionStateGql, OrchestratorKindGql } from '../graphql/enums.js';

@ObjectType('ClusterEvent', { description: 'An orchestrator event Berth recorded' })
export class ClusterEventType {
  @Field(() => ID, { description: "Position in Berth's history" }) id!: string;
  @Field({ description: 'The cluster name' }) cluster!: string;
  @Field({ description: 'The cluster id' }) clusterId!: string;
  @Field({ description: "The orchestrator's own id of the event" }) eventId!: string;
  @Field(() => GraphQLDateTime, { description: 'When the orchestrator emitted it' }) time!: string;
  @Field({ description: 'The native kind: service, container, node, ... (Swarm); Pod, Deployment, ... (Kubernetes)' }) kind!: string;
  @Field({ description: 'The name of the object the event is about' }) name!: string;
  @Field({ nullable: true, description: 'The app of that object, when Berth deployed it' }) app?: string;
  @Field({ nullable: true, description: 'The service of that object, when Berth deployed it' }) service?: string;
  @Field({ description: 'What happened (create, update, die, Killing, ...)' }) action!: string;
  @Field({ nullable: true, description: "The orchestrator's message" }) message?: string;
  @Field(() => GraphQLJSONObject, { description: "The event's other attributes, as the orchestrator gave them" }) attributes!: object;
  @Field({ nullable: true, description: 'The operation that was running on its app or service' }) operationId?: string;
}

@ObjectType('ClusterEventPage', { description: 'A page of cluster events' })
export class ClusterEventPageType {
  @Field(() => [ClusterEventType], { description: 'The events of this page' }) items!: ClusterEventType[];
  @Field({ nullable: true, description: 'Give it as after for the next page; absent on the last page' }) nextCursor?: string;
}

@ObjectType('MetricPoint', { description: "A service's or replica's resource use over one step" })
export class MetricPointType {
  @Field(() => GraphQLDateTime, { description: 'Start of the step' }) time!: string;
  @Field(() => Float, { description: 'Mean CPU use, in cores' }) cpuCores!: number;
  @Field(() => Float, { description: 'Highest CPU use in the step, in cores' }) cpuCoresMax!: number;
  @Field(() => Float, { description: 'Mean memory use, in bytes' }) memoryBytes!: number;
  @Field(() => Float, { description: 'Highest memory use in the step, in bytes' }) memoryMaxBytes!: number;
  @Field(() => Float, { nullable: true, description: 'The memory limit, in bytes' }) memoryLimitBytes?: number;
  @Field(() => Float, { nullable: true, description: 'Network bytes received per second' }) netRxBytesPerSecond?: number;
  @Field(() => Float, { nullable: true, description: 'Network bytes sent per second' }) netTxBytesPerSecond?: number;
  @Field(() => Float, { nullable: true, description: 'Disk bytes read per second' }) blockReadBytesPerSecond?: number;
  @Field(() => Float, { nullable: true, description: 'Disk bytes written per second' }) blockWriteBytesPerSecond?: number;
  @Field(() => Int, { description: 'Replicas sampled in the step' }) replicas!: number;
  @Field(() => Int, { description: 'Samples the point is made of' }) samples!: number;
}

@ObjectType('MetricSeries', { description: 'Metric points of one service or replica' })
export class MetricSeriesType {
  @Field({ nullable: true, description: 'The app' }) app?: string;
  @Field({ nullable: true, description: 'The service' }) service?: string;
  @Field({ nullable: true, description: 'The replica, for per-replica series' }) replica?: string;
  @Field(() => [MetricPointType], { description: 'Its points, oldest first' }) points!: MetricPointType[];
}

@ObjectType('MetricsCollection', { description: 'Whether the cluster is sampled, and why not' })
export class MetricsCollectionType {
  @Field(() => MetricsCollectionStateGql, { description: 'Whether samples are being collected' }) state!: string;
  @Field({ nullable: true, description: 'Why not, when they are not' }) message?: string;
  @Field({ nullable: true, description: 'The gateway replica collecting them' }) owner?: string;
  @Field(() => GraphQLDateTime, { nullable: true, description: 'When the last sample was taken' }) lastSampleAt?: string;
}

@ObjectType('MetricsHistory', { description: "Metrics history of a cluster's services over a time range" })
export class MetricsHistoryType {
  @Field({ description: 'The cluster' }) cluster!: string;
  @Field(() => GraphQLDateTime, { description: 'Start of the range' }) from!: string;
  @Field(() => GraphQLDateTime, { description: 'End of the range' }) to!: string;
  @Field({ description: 'The step between points, as given (30s, 5m, 1h)' }) step!: string;
  @Field(() => Int, { description: 'The step in milliseconds' }) stepMs!: number;
  @Field({ description: 'The stored resolution the answer came from: raw, minute or hour' }) resolution!: string;
  @Field(() => [MetricSeriesType], { description: 'One series per service or replica' }) series!: MetricSeriesType[];
  @Field(() => MetricsCollectionType, { description: 'Whether the cluster is sampled' }) collection!: MetricsCollectionType;
}

@ObjectType('LogLine', { description: "A line of a service's log" })
export class LogLineType {
  @Field(() => GraphQLDateTime, { nullable: true, description: 'When it was written' }) time?: string;
  @Field({ description: 'Swarm task slot (or node of a global service), Kubernetes pod name' }) replica!: string;
  @Field({ description: 'The stream it came from: stdout or stderr' }) stream!: string;
  @Field({ description: 'The text of the line' }) line!: string;
}

@ObjectType('ClusterMonitor', { description: 'The event watcher and metrics collector of one cluster' })
export class ClusterMonitorType {
  @Field({ description: 'The cluster name' }) cluster!: string;
  @Field({ description: 'The cluster id' }) clusterId!: string;
  @Field(() => OrchestratorKindGql, { description: 'Its orchestrator' }) kind!: string;
  @Field({ nullable: true, description: 'The gateway replica running the watcher and collector' }) owner?: string;
  @Field(() => GraphQLDateTime, { nullable: true, description: "Since when the owner holds the cluster's lease" }) ownedSince?: string;
  @Field(() => GraphQLDateTime, { nullable: true, description: 'When the lease runs out unless renewed' }) leaseExpiresAt?: string;
  @Field({ description: 'True when this gateway replica is the owner' }) local!: boolean;
  @Field(() => GraphQLJSONObject, { nullable: true, description: 'State of the event watcher' }) events?: object;
  @Field(() => GraphQLJSONObject, { nullable: true, description: 'State of the metrics collector' }) metrics?: object;
  @Field(() => GraphQLJSONObject, { nullable: true, description: "State of this replica's watch-fed read model of the cluster (every replica keeps its own)" })
  readModel?: object;
}

@ObjectType('MonitoringStatus', { description: 'Which gateway replica watches which cluster' })
export class MonitoringStatusType {
  @Field({ description: "This gateway replica's id" }) instance!: string;
  @Field({ description: 'Whether this replica takes part in monitoring' }) enabled!: boolean;
  @Field(() => Int, { description: "How long a cluster's lease lasts, in milliseconds" }) leaseTtlMs!: number;
  @Field(() => [ClusterMonitorType], { description: 'One entry per registered cluster' }) clusters!: ClusterMonitorType[];
}
