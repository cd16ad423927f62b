import { Args, Context, Int, Query, Resolver, Subscription } from '@nestjs/graphql';
import type { Principal } from '../common/request-context.js';
import { abortableStream } from '../common/abortable-stream.js';
import { DEFAULT_PAGE, PageArgs, pageOf } from '../graphql/pages.js';
import { EventsService } from './events/events.service.js';
import { LogsService } from './logs/logs.service.js';
import { MetricsHistoryService } from './metrics/metrics-history.service.js';
import { MonitoringSupervisor } from './monitoring-supervisor.service.js';
import { ClusterEventPageType, ClusterEventType, LogLineType, MetricsHistoryType, MonitoringStatusType } from './monitoring.types.js';

/** GraphQL leaves absent optional arguments as null; the shared validation expects them absent. */
const defined = (input: Record<string, unknown>) => Object.fromEntries(Object.entries(input).filter(([, v]) => v !== null && v !== undefined));

/** Events, metrics, logs and monitoring status over GraphQL: each field is one call to the services REST uses. */
@Resolver()
export class MonitoringResolver {
  constructor(
    private readonly events: EventsService,
    private readonly metrics: MetricsHistoryService,
    private readonly logs: LogsService,
    private readonly supervisor: MonitoringSupervisor,
  ) {}

  @Query(() => ClusterEventPageType, { description: 'Recorded cluster events, newest first unless order is "asc", cursor-paginated' })
  clusterEvents(
    @Args('cluster', { nullable: true, description: 'Only events of this cluster' }) cluster?: string,
    @Args('app', { nullable: true, description: 'Only events of this app' }) app?: string,
    @Args('service', { nullable: true, description: 'Only events of this service' }) service?: string,
    @Args('kind', { nullable: true, description: 'Only events of this native kind (service, container, Pod, Deployment, ...)' }) kind?: string,
    @Args('action', { nullable: true, description: 'Only events with this action' }) action?: string,
    @Args('operation', { nullable: true, description: 'Only events recorded while this operation ran' }) operation?: string,
    @Args('since', { nullable: true, description: 'Only events at or after this time (ISO 8601, or a duration back from now such as 10m)' }) since?: string,
    @Args('until', { nullable: true, description: 'Only events before this time (ISO 8601, or a duration back from now)' }) until?: string,
    @Args('order', { nullable: true, description: 'desc (default, newest first) or asc' }) order?: string,
    @Args() page?: PageArgs,
  ) {
    const { cursor, limit } = pageOf(page ?? { first: DEFAULT_PAGE });
    return this.events.query(defined({ cluster, app, service, kind, action, operation, since, until, order, cursor, limit }));
  }

  @Subscription(() => ClusterEventType, {
    description: 'Cluster events as they are recorded (by any gateway replica); after: replay stored events after this id first',
  })
  clusterEvent(
    @Args('cluster', { nullable: true, description: 'Only events of this cluster' }) cluster?: string,
    @Args('app', { nullable: true, description: 'Only events of this app' }) app?: string,
    @Args('service', { nullable: true, description: 'Only events of this service' }) service?: string,
    @Args('kind', { nullable: true, description: 'Only events of this native kind' }) kind?: string,
    @Args('action', { nullable: true, description: 'Only events with this action' }) action?: string,
    @Args('after', { nullable: true, description: 'Replay the stored events after this event id first' }) after?: string,
    @Context() context?: { principal?: Principal },
  ) {
    // websocket subscriptions run outside any HTTP request: the guard's principal comes in by hand
    return abortableStream(
      (signal) => this.events.open(defined({ cluster, app, service, kind, action, after }), signal, undefined, context?.principal),
      (clusterEvent) => ({ clusterEvent }),
    );
  }

  @Query(() => MetricsHistoryType, { description: 'CPU, memory, network and block I/O history per service (or replica), from the right stored resolution' })
  metricsHistory(
    @Args('cluster', { description: 'The cluster, by name or id' }) cluster: string,
    @Args('app', { nullable: true, description: 'Only this app' }) app?: string,
    @Args('service', { nullable: true, description: 'Only this service' }) service?: string,
    @Args('from', { nullable: true, description: 'Start of the range (ISO 8601, or a duration back from now such as 1h; default 1h ago)' }) from?: string,
    @Args('to', { nullable: true, description: 'End of the range (ISO 8601 or a duration back from now; default now)' }) to?: string,
    @Args('step', { nullable: true, description: 'Time between points, such as 30s, 5m or 1h (default: from the range)' }) step?: string,
    @Args('by', { nullable: true, description: 'service (default) or replica' }) by?: string,
  ) {
    return this.metrics.query(defined({ cluster, app, service, from, to, step, by }));
  }

  @Subscription(() => LogLineType, { description: "A service's log lines from all its replicas; follow keeps the stream open" })
  serviceLogs(
    @Args('cluster', { description: 'The cluster, by name or id' }) cluster: string,
    @Args('app', { description: 'The app name' }) app: string,
    @Args('service', { description: 'The service name' }) service: string,
    @Args('follow', { nullable: true, description: 'Keep the stream open and send new lines as they are written' }) follow?: boolean,
    @Args('tail', { type: () => Int, nullable: true, description: 'Start with the last this many lines of each replica' }) tail?: number,
    @Args('since', { nullable: true, description: 'Only lines written at or after this time (ISO 8601 or a duration back from now)' }) since?: string,
  ) {
    return abortableStream(
      async (signal) => (await this.logs.open(cluster, app, service, defined({ follow, tail, since }), signal)).lines,
      (serviceLogs) => ({ serviceLogs }),
    );
  }

  @Query(() => MonitoringStatusType, { description: 'Which gateway replica watches and collects each cluster, and how that is going' })
  monitoringStatus() {
    return this.supervisor.view();
  }
}
