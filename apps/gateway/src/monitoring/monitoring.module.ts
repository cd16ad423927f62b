import { type MiddlewareConsumer, Module, type NestModule } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { ClustersModule } from '../clusters/clusters.module.js';
import { ChangesModule } from '../changes/changes.module.js';
import { ClusterEventBus } from './events/cluster-event-bus.js';
import { EventStore } from './events/event-store.service.js';
import { EventWatcherService } from './events/event-watcher.service.js';
import { EventsController } from './events/events.controller.js';
import { EventsService } from './events/events.service.js';
import { LeaseService } from './leases/lease.service.js';
import { LogsController } from './logs/logs.controller.js';
import { LogsService } from './logs/logs.service.js';
import { LatestSamples } from './metrics/latest-samples.js';
import { MetricRollupService } from './metrics/metric-rollup.service.js';
import { MetricsCollectorService } from './metrics/metrics-collector.service.js';
import { MetricsController } from './metrics/metrics.controller.js';
import { MetricsHistoryService } from './metrics/metrics-history.service.js';
import { MonitoringController } from './monitoring.controller.js';
import { MonitoringResolver } from './monitoring.resolver.js';
import { MonitoringSupervisor } from './monitoring-supervisor.service.js';
import { GatewayMetrics } from './prometheus/gateway-metrics.js';
import { GraphqlMetricsInterceptor } from './prometheus/graphql-metrics.interceptor.js';
import { HttpMetricsMiddleware } from './prometheus/http-metrics.middleware.js';
import { OperationMetricsService } from './prometheus/operation-metrics.service.js';
import { PrometheusController } from './prometheus/prometheus.controller.js';

/**
 * Events, metrics history, logs and /metrics. The background half (one event watcher and one
 * metrics collector per cluster, the rollup job) runs under Postgres leases, so with several
 * gateway replicas each piece runs on exactly one of them; BERTH_MONITORING=false keeps a replica
 * out of it while it still serves the history.
 */
@Module({
  imports: [ClustersModule, ChangesModule],
  providers: [
    LeaseService,
    GatewayMetrics,
    LatestSamples,
    ClusterEventBus,
    EventStore,
    EventWatcherService,
    EventsService,
    MetricsCollectorService,
    MetricRollupService,
    MetricsHistoryService,
    MonitoringSupervisor,
    LogsService,
    OperationMetricsService,
    MonitoringResolver,
    { provide: APP_INTERCEPTOR, useClass: GraphqlMetricsInterceptor },
  ],
  controllers: [EventsController, MetricsController, LogsController, MonitoringController, PrometheusController],
  exports: [GatewayMetrics, EventsService, EventWatcherService, MonitoringSupervisor],
})
export class MonitoringModule implements NestModule {
  configure(consumer: MiddlewareConsumer) {
    consumer.apply(HttpMetricsMiddleware).forRoutes('*');
  }
}
