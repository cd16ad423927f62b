import { randomUUID } from 'node:crypto';
import { Args, Context, Int, Mutation, Parent, Query, ResolveField, Resolver, Subscription } from '@nestjs/graphql';
import { GraphQLJSONObject } from 'graphql-scalars';
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
import {
  AppType,
  ChangeResultType,
  JobRunResultType,
  JobRunType,
  OperationPageType,
  OperationType,
  ProgressType,
  RevisionType,
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

  @Query(() => [AppType])
  apps(@Args('cluster') cluster: string) {
    return this.appsService.list(cluster);
  }

  @Query(() => AppType, { description: 'An app with desired against actual state; add revisions and operations for its whole history' })
  app(@Args('cluster') cluster: string, @Args('name') name: string) {
    return this.appsService.get(cluster, name);
  }

  @ResolveField(() => [RevisionType])
  async revisions(@Parent() app: AppView, @Args('limit', { type: () => Int, defaultValue: 50 }) limit: number) {
    return (await this.appsService.revisions(app.cluster, app.name, { limit })).items;
  }

  @ResolveField(() => [OperationType])
  async operations(@Parent() app: AppView, @Args('limit', { type: () => Int, defaultValue: 50 }) limit: number) {
    const { items } = await this.operationsService.query({ cluster: app.cluster, app: app.name }, { limit });
    return Promise.all(items.map(async (op) => operationView(await this.operationsService.get(op.id))));
  }

  @Query(() => [ServiceType], { description: 'Discovery data of every service of an app' })
  services(@Args('cluster') cluster: string, @Args('app') app: string) {
    return this.servicesService.list(cluster, app);
  }

  @Query(() => OperationType)
  async operation(@Args('id') id: string) {
    return operationView(await this.operationsService.get(id));
  }

  @Query(() => OperationPageType, { description: 'Operation history, newest first, filterable, cursor-paginated' })
  async operationHistory(
    @Args('cluster', { nullable: true }) cluster?: string,
    @Args('app', { nullable: true }) app?: string,
    @Args('service', { nullable: true }) service?: string,
    @Args('status', { nullable: true }) status?: string,
    @Args('requester', { nullable: true }) requester?: string,
    @Args('cursor', { nullable: true }) cursor?: string,
    @Args('limit', { type: () => Int, defaultValue: 50 }) limit?: number,
  ) {
    const { items, nextCursor } = await this.operationsService.query(
      {
        cluster: cluster ?? undefined,
        app: app ?? undefined,
        service: service ?? undefined,
        status: (status ?? undefined) as never,
        requester: requester ?? undefined,
      },
      { cursor: cursor ?? undefined, limit: limit ?? 50 },
    );
    return { items: items.map((op) => operationView(op)), nextCursor };
  }

  @Query(() => JobRunType)
  jobRun(@Args('cluster') cluster: string, @Args('id') id: string) {
    return this.jobsService.get(cluster, id);
  }

  @Mutation(() => ChangeResultType, { description: 'Applies an AppSpec (spec) or a Compose file (compose, with name when the file has none)' })
  applyApp(
    @GraphqlCaller() caller: Caller,
    @Args('cluster') cluster: string,
    @Args('spec', { type: () => GraphQLJSONObject, nullable: true }) spec?: object,
    @Args('compose', { nullable: true }) compose?: string,
    @Args('name', { nullable: true }) name?: string,
  ) {
    return this.appsService.apply(cluster, compose ? { compose, name: name ?? undefined } : { spec }, caller);
  }

  @Mutation(() => ChangeResultType)
  deleteApp(
    @GraphqlCaller() caller: Caller,
    @Args('cluster') cluster: string,
    @Args('app') app: string,
    @Args('volumes', { defaultValue: false }) volumes: boolean,
  ) {
    return this.appsService.remove(cluster, app, { volumes }, caller);
  }

  @Mutation(() => ChangeResultType)
  rollbackApp(
    @GraphqlCaller() caller: Caller,
    @Args('cluster') cluster: string,
    @Args('app') app: string,
    @Args('revision', { type: () => Int, nullable: true }) revision?: number,
  ) {
    return this.appsService.rollback(cluster, app, revision ?? undefined, caller);
  }

  @Mutation(() => ChangeResultType)
  scaleService(
    @GraphqlCaller() caller: Caller,
    @Args('cluster') cluster: string,
    @Args('app') app: string,
    @Args('service') service: string,
    @Args('replicas', { type: () => Int }) replicas: number,
  ) {
    return this.servicesService.scale(cluster, app, service, { replicas }, caller);
  }

  @Mutation(() => ChangeResultType, { description: 'patch: image, command, env, resources, replicas, update (policy), expectedRevision, force' })
  updateService(
    @GraphqlCaller() caller: Caller,
    @Args('cluster') cluster: string,
    @Args('app') app: string,
    @Args('service') service: string,
    @Args('patch', { type: () => GraphQLJSONObject }) patch: object,
  ) {
    return this.servicesService.update(cluster, app, service, patch, caller);
  }

  @Mutation(() => ChangeResultType)
  rollbackService(
    @GraphqlCaller() caller: Caller,
    @Args('cluster') cluster: string,
    @Args('app') app: string,
    @Args('service') service: string,
    @Args('revision', { type: () => Int, nullable: true }) revision?: number,
  ) {
    return this.servicesService.rollback(cluster, app, service, revision ? { revision } : {}, caller);
  }

  @Mutation(() => JobRunResultType)
  runJob(@GraphqlCaller() caller: Caller, @Args('cluster') cluster: string, @Args('spec', { type: () => GraphQLJSONObject }) spec: object) {
    return this.jobsService.run(cluster, spec, caller);
  }

  @Subscription(() => ProgressType, { description: 'Live progress of one operation; ends after the event that carries "final"' })
  operationProgress(@Args('id') id: string, @Context() context: { principal?: Principal }) {
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
