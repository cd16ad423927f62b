import { Field, Float, ID, Int, ObjectType } from '@nestjs/graphql';
import { GraphQLDateTime, GraphQLJSONObject } from 'graphql-scalars';
import { OperationKindGql, OperationStatusGql } from './enums.js';
import { type OutcomeCode, OutcomeCodeGraphql } from '../changes/operation-outcome.js';

@ObjectType('Progress')
export class ProgressType {
  @Field(() => GraphQLDateTime) time!: string;
  @Field({ description: 'Where the rollout is: started, progressing, completed, rolling-back, rolled-back, paused, failed, waiting, reattached, finished' })
  phase!: string;
  @Field({ nullable: true }) message?: string;
  @Field({ nullable: true }) service?: string;
  @Field(() => Int, { nullable: true }) replicasUpdated?: number;
  @Field(() => Int, { nullable: true }) replicasReady?: number;
  @Field(() => Int, { nullable: true }) replicasTotal?: number;
  @Field(() => Int, { nullable: true }) batchesDone?: number;
  @Field(() => Int, { nullable: true }) batchesTotal?: number;
  @Field({ nullable: true, description: 'Set on the last event: the final status' }) final?: string;
}

@ObjectType('Operation')
export class OperationType {
  @Field(() => ID) id!: string;
  @Field(() => OperationKindGql) kind!: string;
  @Field(() => OperationStatusGql) status!: string;
  @Field() clusterId!: string;
  @Field({ nullable: true }) app?: string;
  @Field({ nullable: true }) service?: string;
  @Field() requester!: string;
  @Field({ nullable: true }) idempotencyKey?: string;
  @Field(() => Int, { nullable: true }) fromRevision?: number;
  @Field(() => Int, { nullable: true }) toRevision?: number;
  @Field(() => OutcomeCodeGraphql, { nullable: true }) errorCode?: OutcomeCode;
  @Field({ nullable: true }) error?: string;
  @Field(() => GraphQLJSONObject, { nullable: true }) result?: object;
  @Field(() => GraphQLDateTime) createdAt!: string;
  @Field(() => GraphQLDateTime, { nullable: true }) startedAt?: string;
  @Field(() => GraphQLDateTime, { nullable: true }) finishedAt?: string;
  @Field(() => [ProgressType], { nullable: true }) progress?: ProgressType[];
}

@ObjectType('OperationPage', { description: 'A page of operations, newest first' })
export class OperationPageType {
  @Field(() => [OperationType], { description: 'The operations of this page' }) items!: OperationType[];
  @Field({ nullable: true, description: 'Give it as after for the next page; absent on the last page' }) nextCursor?: string;
}

@ObjectType('Warning')
export class WarningType {
  @Field() path!: string;
  @Field() message!: string;
}

@ObjectType('ChangeResult')
export class ChangeResultType {
  @Field() changed!: boolean;
  @Field() message!: string;
  @Field(() => Int, { nullable: true }) revision?: number;
  @Field(() => OperationType, { nullable: true }) operation?: OperationType;
  @Field(() => [WarningType]) warnings!: WarningType[];
}

@ObjectType('Revision')
export class RevisionType {
  @Field(() => Int) number!: number;
  @Field() specHash!: string;
  @Field() source!: string;
  @Field() author!: string;
  @Field({ nullable: true }) message?: string;
  @Field(() => GraphQLDateTime) createdAt!: string;
  @Field() current!: boolean;
  @Field(() => GraphQLJSONObject, { nullable: true }) spec?: object;
}

@ObjectType('RevisionPage', { description: 'A page of revisions, newest first' })
export class RevisionPageType {
  @Field(() => [RevisionType], { description: 'The revisions of this page' }) items!: RevisionType[];
  @Field({ nullable: true, description: 'Give it as after for the next page; absent on the last page' }) nextCursor?: string;
}

@ObjectType('ServiceState')
export class ServiceStateType {
  @Field() service!: string;
  @Field(() => GraphQLJSONObject, { nullable: true }) desired?: object;
  @Field(() => GraphQLJSONObject, { nullable: true }) actual?: object;
  @Field() inSync!: boolean;
}

@ObjectType('App')
export class AppType {
  @Field() name!: string;
  @Field() cluster!: string;
  @Field(() => Int, { nullable: true }) currentRevision?: number;
  @Field(() => GraphQLDateTime) createdAt!: string;
  @Field(() => GraphQLDateTime) updatedAt!: string;
  @Field() deleted!: boolean;
  @Field(() => GraphQLJSONObject, { nullable: true }) spec?: object;
  @Field(() => [ServiceStateType], { nullable: true, description: 'Desired against actual, read live' }) services?: ServiceStateType[];
}

@ObjectType('Port')
export class PortType {
  @Field(() => Int) target!: number;
  @Field(() => Int, { nullable: true }) published?: number;
  @Field() protocol!: string;
  @Field() mode!: string;
}

@ObjectType('Endpoint')
export class EndpointType {
  @Field() id!: string;
  @Field() replica!: string;
  @Field({ nullable: true }) node?: string;
  @Field({ nullable: true }) address?: string;
  @Field({ nullable: true }) hostname?: string;
  @Field() state!: string;
  @Field() ready!: boolean;
  @Field({ nullable: true }) image?: string;
}

@ObjectType('Service')
export class ServiceType {
  @Field() service!: string;
  @Field() image!: string;
  @Field() mode!: string;
  @Field() stateful!: boolean;
  @Field(() => GraphQLJSONObject) replicas!: object;
  @Field() dnsName!: string;
  @Field(() => [String]) aliases!: string[];
  @Field(() => [String]) virtualIps!: string[];
  @Field(() => [PortType]) ports!: PortType[];
  @Field(() => [EndpointType]) endpoints!: EndpointType[];
  @Field(() => GraphQLJSONObject) rollout!: object;
}

@ObjectType('JobRun')
export class JobRunType {
  @Field(() => ID) id!: string;
  @Field() cluster!: string;
  @Field() app!: string;
  @Field() name!: string;
  @Field() nativeName!: string;
  @Field() status!: string;
  @Field(() => Int) succeeded!: number;
  @Field(() => Int) failed!: number;
  @Field(() => [GraphQLJSONObject]) runs!: object[];
  @Field({ nullable: true }) logTail?: string;
  @Field(() => GraphQLDateTime) startedAt!: string;
  @Field(() => GraphQLDateTime, { nullable: true }) finishedAt?: string;
  @Field(() => Float, { nullable: true }) durationMs?: number;
  @Field({ nullable: true }) operationId?: string;
}

@ObjectType('JobRunResult')
export class JobRunResultType {
  @Field(() => JobRunType) job!: JobRunType;
  @Field(() => OperationType) operation!: OperationType;
}
