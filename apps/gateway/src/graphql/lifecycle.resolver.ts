import { randomUUID } from 'node:crypto';
import { Args, Context, Int, Mutation, Parent, Query, ResolveField, Resolver, Subscription } from '@nestjs/graphql';
import { AppSpec, JobSpec } from '@berth/model';
import { UpdateServiceRequest } from '../common/change-requests.js';
import { AppSpecInput, JobSpecInput, ServicePatchInput } from './inputs.js';
import { fromGraphqlInput } from './zod-graphql.js';
import { OperationStatusGql } from './enums.js';
import { DEFAULT_PAGE, PageArgs, pageOf } from './pages.js';
import { abortableStream } from '../common/abortable-stream.js';
import { type Principal, requestContext } from '../common/request-context.js';
import type { ProgressEvent } from '../changes/operation-events.js';
import { AppsService, type AppView } from '../apps/apps.service.js';
import { type Caller, GraphqlCaller } from '../common/caller.js';
import { JobsService } from '../jobs/jobs.service.js';
import { OperationEvents } from '../changes/operation-events.js';
import { operationView } from '../changes/operation.views.js';
import { OperationHistory } from '../changes/operation-history.service.js';
import { ServicesService } from '../services/services.service.js';
import { FRESH_ARG, readOptions } from '../common/read-consistency.js';
import {
  AppType,
  ChangeResultType,
  JobRunResultType,
  JobRunType,
  OperationPageType,
  OperationType,
  ProgressType,
  RevisionPageType,
  ServiceType,
} from './lifecycle.types.js';

/** The live events up to and including the one that closes the operation. */
async function* untilFinal(live: AsyncIterable<ProgressEvent> | ProgressEvent[]): AsyncGenerator<ProgressEvent> {
  for await (const event of live) {
    yield event;
    if (event.final) return;
  }
}

/** The lifecycle over GraphQL: each field is one call to the same services REST uses. */
@Resolver(() => AppType)
export class LifecycleResolver {
  constructor(
    private readonly appsService: AppsService,
    private readonly servicesService: ServicesService,
    private readonly operationsService: OperationHistory,
    private readonly jobsService: JobsService,
    private readonly events: OperationEvents,
  ) {}

  @Query(() => [AppType], { description: 'The apps of a cluster' })
  apps(@Args('cluster', { description: 'The cluster, by name or id' }) cluster: string) {
    return this.appsService.list(cluster);
  }

  @Query(() => AppType, { description: 'An app with desired against actual state; add revisions and operations for its whole history' })
  app(
    @Args('cluster', { description: 'The cluster, by name or id' }) cluster: string,
    @Args('name', { description: 'The app name' }) name: string,
    @Args('fresh', FRESH_ARG) fresh?: boolean,
  ) {
    return this.appsService.get(cluster, name, readOptions(fresh));
  }

  @ResolveField(() => RevisionPageType, { description: "The app's revisions, newest first" })
  async revisions(@Parent() app: AppView, @Args() args: PageArgs) {
    const { cursor, limit } = pageOf(args);
    const after = cursor === undefined ? undefined : Number(cursor);
    const { items, nextCursor } = await this.appsService.revisions(app.cluster, app.name, { cursor: Number.isInteger(after) ? after : undefined, limit });
    return { items, nextCursor: nextCursor === undefined ? undefined : String(nextCursor) };
  }

  @ResolveField(() => OperationPageType, { description: "The app's operations with their progress, newest first" })
  async operations(@Parent() app: AppView, @Args() args: PageArgs) {
    const { items, nextCursor } = await this.operationsService.query({ cluster: app.cluster, app: app.name }, pageOf(args));
    return { items: await Promise.all(items.map(async (op) => operationView(await this.operationsService.get(op.id)))), nextCursor };
  }

  @Query(() => [ServiceType], { description: 'Discovery data of every service of an app' })
  services(
    @Args('cluster', { description: 'The cluster, by name or id' }) cluster: string,
    @Args('app', { description: 'The app name' }) app: string,
    @Args('fresh', FRESH_ARG) fresh?: boolean,
  ) {
    return this.servicesService.list(cluster, app, readOptions(fresh));
  }

  @Query(() => OperationType, { description: 'One operation with its progress' })
  async operation(@Args('id', { description: 'The operation id' }) id: string) {
    return operationView(await this.operationsService.get(id));
  }

  @Query(() => OperationPageType, { description: 'Operation history, newest first, filterable, cursor-paginated' })
  async operationHistory(
    @Args('cluster', { nullable: true, description: 'Only operations on this cluster' }) cluster?: string,
    @Args('app', { nullable: true, description: 'Only operations on this app' }) app?: string,
    @Args('service', { nullable: true, description: 'Only operations on this service' }) service?: string,
    @Args('status', { type: () => OperationStatusGql, nullable: true, description: 'Only operations with this status' }) status?: string,
    @Args('requester', { nullable: true, description: 'Only operations asked for by this token name' }) requester?: string,
    @Args() page?: PageArgs,
  ) {
    const { items, nextCursor } = await this.operationsService.query(
      {
        cluster: cluster ?? undefined,
        app: app ?? undefined,
        service: service ?? undefined,
        status: (status ?? undefined) as never,
        requester: requester ?? undefined,
      },
      pageOf(page ?? { first: DEFAULT_PAGE }),
    );
    return { items: items.map((op) => operationView(op)), nextCursor };
  }

  @Query(() => JobRunType, { description: 'One job run with its attempts, exit codes and log tail' })
  jobRun(@Args('cluster', { description: 'The cluster, by name or id' }) cluster: string, @Args('id', { description: 'The job run id' }) id: string) {
    return this.jobsService.get(cluster, id);
  }

  @Mutation(() => ChangeResultType, { description: 'Applies an AppSpec (spec) or a Compose file (compose, with name when the file has none)' })
  applyApp(
    @GraphqlCaller() caller: Caller,
    @Args('cluster', { description: 'The cluster to deploy to, by name or id' }) cluster: string,
    @Args('spec', { type: () => AppSpecInput, nullable: true, description: 'The app to apply (or give compose)' }) spec?: object,
    @Args('compose', { nullable: true, description: 'A Compose file, as YAML (or give spec)' }) compose?: string,
    @Args('name', { nullable: true, description: 'The app name, for a Compose file without a top-level name' }) name?: string,
  ) {
    return this.appsService.apply(cluster, compose ? { compose, name: name ?? undefined } : { spec: fromGraphqlInput(AppSpec, spec) }, caller);
  }

  @Mutation(() => ChangeResultType, { description: "Removes an app's services; its volumes stay unless volumes is true; audited" })
  deleteApp(
    @GraphqlCaller() caller: Caller,
    @Args('cluster', { description: 'The cluster, by name or id' }) cluster: string,
    @Args('app', { description: 'The app name' }) app: string,
    @Args('volumes', { defaultValue: false, description: "Also delete the app's volumes and their data (default: keep them)" }) volumes: boolean,
  ) {
    return this.appsService.remove(cluster, app, { volumes }, caller);
  }

  @Mutation(() => ChangeResultType, { description: 'Re-applies an earlier revision of the whole app as a new revision' })
  rollbackApp(
    @GraphqlCaller() caller: Caller,
    @Args('cluster', { description: 'The cluster, by name or id' }) cluster: string,
    @Args('app', { description: 'The app name' }) app: string,
    @Args('revision', { type: () => Int, nullable: true, description: 'The revision to go back to (default: the one before the current)' }) revision?: number,
  ) {
    return this.appsService.rollback(cluster, app, revision ?? undefined, caller);
  }

  @Mutation(() => ChangeResultType, { description: "Sets a service's replica count" })
  scaleService(
    @GraphqlCaller() caller: Caller,
    @Args('cluster', { description: 'The cluster, by name or id' }) cluster: string,
    @Args('app', { description: 'The app name' }) app: string,
    @Args('service', { description: 'The service name' }) service: string,
    @Args('replicas', { type: () => Int, description: 'The replica count to run' }) replicas: number,
  ) {
    return this.servicesService.scale(cluster, app, service, { replicas }, caller);
  }

  @Mutation(() => ChangeResultType, { description: 'Changes one service: only the fields of the patch' })
  updateService(
    @GraphqlCaller() caller: Caller,
    @Args('cluster', { description: 'The cluster, by name or id' }) cluster: string,
    @Args('app', { description: 'The app name' }) app: string,
    @Args('service', { description: 'The service name' }) service: string,
    @Args('patch', { type: () => ServicePatchInput, description: 'The fields to change' }) patch: object,
  ) {
    return this.servicesService.update(cluster, app, service, fromGraphqlInput(UpdateServiceRequest, patch), caller);
  }

  @Mutation(() => ChangeResultType, { description: 'Rolls one service back to its spec of an earlier revision' })
  rollbackService(
    @GraphqlCaller() caller: Caller,
    @Args('cluster', { description: 'The cluster, by name or id' }) cluster: string,
    @Args('app', { description: 'The app name' }) app: string,
    @Args('service', { description: 'The service name' }) service: string,
    @Args('revision', { type: () => Int, nullable: true, description: 'The revision whose spec of this service to go back to (default: the one before)' })
    revision?: number,
  ) {
    return this.servicesService.rollback(cluster, app, service, revision ? { revision } : {}, caller);
  }

  @Mutation(() => JobRunResultType, { description: 'Starts a run-once job; with wait, answers when it has ended' })
  runJob(
    @GraphqlCaller() caller: Caller,
    @Args('cluster', { description: 'The cluster to run it on, by name or id' }) cluster: string,
    @Args('spec', { type: () => JobSpecInput, description: 'The job to run' }) spec: object,
  ) {
    return this.jobsService.run(cluster, fromGraphqlInput(JobSpec, spec), caller);
  }

  @Subscription(() => ProgressType, { description: 'Live progress of one operation; ends after the event that carries "final"' })
  operationProgress(@Args('id', { description: 'The operation id' }) id: string, @Context() context: { principal?: Principal }) {
    // websocket subscriptions run outside any HTTP request: carry the guard's principal in by hand
    const asCaller = <T>(fn: () => Promise<T>) =>
      requestContext.run({ correlationId: randomUUID(), requester: `token:${context.principal?.name}`, principal: context.principal }, fn);
    return abortableStream(
      async (signal) => {
        const live = this.events.subscribe(id, signal);
        const op = await asCaller(() => this.operationsService.get(id));
        if (this.operationsService.isOpen(op)) return untilFinal(live);
        return untilFinal([{ operationId: op.id, time: (op.finishedAt ?? op.createdAt).toISOString(), phase: 'finished', final: op.status }]);
      },
      (event) => ({ operationProgress: event }),
    );
  }
}
