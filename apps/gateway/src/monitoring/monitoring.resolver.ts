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
    @Args('cluster', { nullable: true }) cluster?: string,
    @Args('app', { nullable: true }) app?: string,
    @Args('service', { nullable: true }) service?: string,
    @Args('kind', { nullable: true }) kind?: string,
    @Args('action', { nullable: true }) action?: string,
    @Args('operation', { nullable: true }) operation?: string,
    @Args('since', { nullable: true }) since?: string,
    @Args('until', { nullable: true }) until?: string,
    @Args('order', { nullable: true }) order?: string,
    @Args() page?: PageArgs,
  ) {
    const { cursor, limit } = pageOf(page ?? { first: DEFAULT_PAGE });
    return this.events.query(defined({ cluster, app, service, kind, action, operation, since, until, order, cursor, limit }));
  }

  @Subscription(() => ClusterEventType, {
    description: 'Cluster events as they are recorded (by any gateway replica); after: replay stored events after this id first',
  })
  clusterEvent(
    @Args('cluster', { nullable: true }) cluster?: string,
    @Args('app', { nullable: true }) app?: string,
    @Args('service', { nullable: true }) service?: string,
    @Args('kind', { nullable: true }) kind?: string,
    @Args('action', { nullable: true }) action?: string,
    @Args('after', { nullable: true }) after?: string,
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
    @Args('cluster') cluster: string,
    @Args('app', { nullable: true }) app?: string,
    @Args('service', { nullable: true }) service?: string,
    @Args('from', { nullable: true }) from?: string,
    @Args('to', { nullable: true }) to?: string,
    @Args('step', { nullable: true }) step?: string,
    @Args('by', { nullable: true, description: 'service (default) or replica' }) by?: string,
  ) {
    return this.metrics.query(defined({ cluster, app, service, from, to, step, by }));
  }

  @Subscription(() => LogLineType, { description: "A service's log lines from all its replicas; follow keeps the stream open" })
  serviceLogs(
    @Args('cluster') cluster: string,
    @Args('app') app: string,
    @Args('service') service: string,
    @Args('follow', { nullable: true }) follow?: boolean,
    @Args('tail', { type: () => Int, nullable: true }) tail?: number,
    @Args('since', { nullable: true }) since?: string,
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
