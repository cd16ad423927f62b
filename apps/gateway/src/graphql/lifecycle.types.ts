import { Field, Float, ID, Int, ObjectType } from '@nestjs/graphql';
import { GraphQLDateTime, GraphQLJSONObject } from 'graphql-scalars';
import { OperationKindGql, OperationStatusGql } from './enums.js';
import { ObservationType } from '../common/read-consistency.js';
import { type OutcomeCode, OutcomeCodeGraphql } from '../changes/operation-outcome.js';

@ObjectType('Progress', { description: "One step of an operation's progress, as the rollout reports it" })
export class ProgressType {
  @Field(() => GraphQLDateTime, { description: 'When this step was observed' }) time!: string;
  @Field({ description: 'Where the rollout is: started, progressing, completed, rolling-back, rolled-back, paused, failed, waiting, reattached, finished' })
  phase!: string;
  @Field({ nullable: true, description: 'What happened, in words' }) message?: string;
  @Field({ nullable: true, description: 'The service this step is about, when it is about one' }) service?: string;
  @Field(() => Int, { nullable: true, description: 'Replicas running the new revision so far' }) replicasUpdated?: number;
  @Field(() => Int, { nullable: true, description: 'Replicas ready (running and healthy)' }) replicasReady?: number;
  @Field(() => Int, { nullable: true, description: 'Replicas the service should have' }) replicasTotal?: number;
  @Field(() => Int, { nullable: true, description: 'Update batches finished (a batch is `parallelism` replicas)' }) batchesDone?: number;
  @Field(() => Int, { nullable: true, description: 'Update batches in all' }) batchesTotal?: number;
  @Field({ nullable: true, description: 'Set on the last event: the final status' }) final?: string;
}

@ObjectType('Operation', { description: 'A change Berth made or is making: who asked for it, what it changed and how it ended' })
export class OperationType {
  @Field(() => ID, { description: "The operation's id, for operation(id) and operationProgress(id)" }) id!: string;
  @Field(() => OperationKindGql, { description: 'What the operation does' }) kind!: string;
  @Field(() => OperationStatusGql, { description: 'Where it is now; PAUSED and ROLLED_BACK carry the reason in error' }) status!: string;
  @Field({ description: 'Id of the cluster it runs on' }) clusterId!: string;
  @Field({ nullable: true, description: 'The app it changes' }) app?: string;
  @Field({ nullable: true, description: 'The service it changes, when it is about one' }) service?: string;
  @Field({ description: 'The token name of whoever asked for it' }) requester!: string;
  @Field({ nullable: true, description: 'The Idempotency-Key it was asked with; a retry with the same key returns this operation' }) idempotencyKey?: string;
  @Field(() => Int, { nullable: true, description: 'The app revision before the change' }) fromRevision?: number;
  @Field(() => Int, { nullable: true, description: 'The app revision the change goes to' }) toRevision?: number;
  @Field(() => OutcomeCodeGraphql, { nullable: true, description: 'Why it did not succeed, as a code' }) errorCode?: OutcomeCode;
  @Field({ nullable: true, description: 'Why it did not succeed, in words' }) error?: string;
  @Field(() => GraphQLJSONObject, { nullable: true, description: 'What it produced (objects created, job outcome), per kind' }) result?: object;
  @Field(() => GraphQLDateTime, { description: 'When it was asked for' }) createdAt!: string;
  @Field(() => GraphQLDateTime, { nullable: true, description: 'When it started acting on the cluster' }) startedAt?: string;
  @Field(() => GraphQLDateTime, { nullable: true, description: 'When it ended' }) finishedAt?: string;
  @Field(() => [ProgressType], { nullable: true, description: 'Its progress steps, oldest first' }) progress?: ProgressType[];
}

@ObjectType('OperationPage', { description: 'A page of operations, newest first' })
export class OperationPageType {
  @Field(() => [OperationType], { description: 'The operations of this page' }) items!: OperationType[];
  @Field({ nullable: true, description: 'Give it as after for the next page; absent on the last page' }) nextCursor?: string;
}

@ObjectType('Warning', { description: 'Something in a spec Berth accepted but that may not do what was meant' })
export class WarningType {
  @Field({ description: 'The field of the spec it is about' }) path!: string;
  @Field({ description: 'What to look at' }) message!: string;
}

@ObjectType('ChangeResult', { description: 'The answer to a change: whether anything changed, and the operation doing it' })
export class ChangeResultType {
  @Field({ description: 'False when the spec was already in place (nothing was done)' }) changed!: boolean;
  @Field({ description: 'What was done, in words' }) message!: string;
  @Field(() => Int, { nullable: true, description: 'The app revision now current' }) revision?: number;
  @Field(() => OperationType, { nullable: true, description: 'The operation carrying out the change; absent when nothing changed' }) operation?: OperationType;
  @Field(() => [WarningType], { description: 'Warnings about the spec' }) warnings!: WarningType[];
}

@ObjectType('Revision', { description: "One recorded version of an app's spec" })
export class RevisionType {
  @Field(() => Int, { description: 'The revision number, counting from 1' }) number!: number;
  @Field({ description: 'Hash of the normalised spec; equal specs have equal hashes' }) specHash!: string;
  @Field({ description: 'Where the spec came from: appspec, compose or rollback' }) source!: string;
  @Field({ description: 'The token name that applied it' }) author!: string;
  @Field({ nullable: true, description: 'The message given with the change' }) message?: string;
  @Field(() => GraphQLDateTime, { description: 'When it was applied' }) createdAt!: string;
  @Field({ description: 'True for the revision deployed now' }) current!: boolean;
  @Field(() => GraphQLJSONObject, { nullable: true, description: 'The spec itself' }) spec?: object;
}

@ObjectType('RevisionPage', { description: 'A page of revisions, newest first' })
export class RevisionPageType {
  @Field(() => [RevisionType], { description: 'The revisions of this page' }) items!: RevisionType[];
  @Field({ nullable: true, description: 'Give it as after for the next page; absent on the last page' }) nextCursor?: string;
}

@ObjectType('ServiceState', { description: "A service's desired state against what the orchestrator reports" })
export class ServiceStateType {
  @Field({ description: 'The service name' }) service!: string;
  @Field(() => GraphQLJSONObject, { nullable: true, description: 'What the current revision asks for' }) desired?: object;
  @Field(() => GraphQLJSONObject, { nullable: true, description: 'What the orchestrator runs; absent when the service is missing' }) actual?: object;
  @Field({ description: 'True when the two agree' }) inSync!: boolean;
}

@ObjectType('App', { description: 'An app: a set of services deployed together on one cluster' })
export class AppType {
  @Field({ description: 'The app name (a DNS label)' }) name!: string;
  @Field({ description: 'The cluster it runs on' }) cluster!: string;
  @Field(() => Int, { nullable: true, description: 'The revision deployed now' }) currentRevision?: number;
  @Field(() => GraphQLDateTime, { description: 'When it was first applied' }) createdAt!: string;
  @Field(() => GraphQLDateTime, { description: 'When it last changed' }) updatedAt!: string;
  @Field({ description: 'True once the app was removed (its history stays)' }) deleted!: boolean;
  @Field(() => GraphQLJSONObject, { nullable: true, description: 'The spec of the current revision' }) spec?: object;
  @Field(() => [ServiceStateType], { nullable: true, description: 'Desired against actual, read live' }) services?: ServiceStateType[];
  @Field(() => ObservationType, { nullable: true, description: 'Where the actual state came from and how old it is (the oldest of its services)' })
  observed?: ObservationType;
}

@ObjectType('Port', { description: 'A port of a service' })
export class PortType {
  @Field(() => Int, { description: 'The container port' }) target!: number;
  @Field(() => Int, { nullable: true, description: 'The port published outside the cluster (Swarm published port, Kubernetes node port)' }) published?: number;
  @Field({ description: 'The protocol: tcp or udp' }) protocol!: string;
  @Field({ description: 'Where it is published: ingress (every node) or host (the node of the replica)' }) mode!: string;
}

@ObjectType('Endpoint', { description: 'One replica of a service and where it can be reached' })
export class EndpointType {
  @Field({ description: "The orchestrator's id of the replica (task id or pod uid)" }) id!: string;
  @Field({ description: 'Swarm task slot (or node of a global service), Kubernetes pod name' }) replica!: string;
  @Field({ nullable: true, description: 'The node it runs on' }) node?: string;
  @Field({ nullable: true, description: 'Its IP address on the app network' }) address?: string;
  @Field({ nullable: true, description: 'Its stable name, for stateful services' }) hostname?: string;
  @Field({ description: "The orchestrator's state of the replica" }) state!: string;
  @Field({ description: 'True when it is running and passes its healthcheck' }) ready!: boolean;
  @Field({ nullable: true, description: 'The image it runs' }) image?: string;
}

@ObjectType('Service', { description: 'A service as deployed, with everything needed to reach it' })
export class ServiceType {
  @Field({ description: 'The service name' }) service!: string;
  @Field({ description: 'The image of the current revision' }) image!: string;
  @Field({ description: 'Replicated (a replica count) or global (one replica per node)' }) mode!: string;
  @Field({ description: 'True when replicas have stable names and their own volumes' }) stateful!: boolean;
  @Field(() => GraphQLJSONObject, { description: 'Replica counts: desired, running and ready' }) replicas!: object;
  @Field({ description: 'The name other services of the app resolve it by' }) dnsName!: string;
  @Field(() => [String], { description: 'Other names it resolves by' }) aliases!: string[];
  @Field(() => [String], { description: 'Its virtual IPs (Swarm VIP, Kubernetes cluster IP)' }) virtualIps!: string[];
  @Field(() => [PortType], { description: 'Its ports' }) ports!: PortType[];
  @Field(() => [EndpointType], { description: 'Its replicas' }) endpoints!: EndpointType[];
  @Field(() => GraphQLJSONObject, { description: 'The state of its last rollout' }) rollout!: object;
  @Field(() => ObservationType, { description: 'Where this data came from and how old it is' }) observed!: ObservationType;
}

@ObjectType('JobRun', { description: 'One run of a run-once job and how it ended' })
export class JobRunType {
  @Field(() => ID, { description: "The run's id" }) id!: string;
  @Field({ description: 'The cluster it ran on' }) cluster!: string;
  @Field({ description: 'The app it belongs to' }) app!: string;
  @Field({ description: 'The job name' }) name!: string;
  @Field({ description: "The orchestrator's name of it (Swarm service, Kubernetes Job)" }) nativeName!: string;
  @Field({ description: 'Where the job is: pending, running, succeeded or failed' }) status!: string;
  @Field(() => Int, { description: 'Completions that exited 0' }) succeeded!: number;
  @Field(() => Int, { description: 'Attempts that failed' }) failed!: number;
  @Field(() => [GraphQLJSONObject], { description: 'Each attempt with its exit code' }) runs!: object[];
  @Field({ nullable: true, description: 'The last lines of its log' }) logTail?: string;
  @Field(() => GraphQLDateTime, { description: 'When it started' }) startedAt!: string;
  @Field(() => GraphQLDateTime, { nullable: true, description: 'When it ended' }) finishedAt?: string;
  @Field(() => Float, { nullable: true, description: 'How long it ran, in milliseconds' }) durationMs?: number;
  @Field({ nullable: true, description: 'The operation that ran it' }) operationId?: string;
}

@ObjectType('JobRunResult', { description: 'A job started: the run and the operation following it' })
export class JobRunResultType {
  @Field(() => JobRunType, { description: 'The run' }) job!: JobRunType;
  @Field(() => OperationType, { description: 'The operation' }) operation!: OperationType;
}
