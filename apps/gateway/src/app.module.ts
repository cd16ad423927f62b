import { ApolloServerPluginCacheControlDisabled } from '@apollo/server/plugin/disabled';
import { ApolloDriver, type ApolloDriverConfig } from '@nestjs/apollo';
import { type DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { GraphQLModule } from '@nestjs/graphql';
import type { Logger } from 'pino';
import type { Config } from './config/config.js';
import { ErrorFilter } from './common/error.filter.js';
import { AuthModule } from './auth/auth.module.js';
import { ClustersModule } from './clusters/clusters.module.js';
import { costPlugin, depthRule } from './graphql/graphql.limits.js';
import { formatGraphqlError } from './graphql/graphql-errors.js';
import { describeRootTypes } from './graphql/root-types.js';
import { ComposeModule } from './compose/compose.module.js';
import { AppsModule } from './apps/apps.module.js';
import { LifecycleGraphqlModule } from './graphql/lifecycle-graphql.module.js';
import { MonitoringModule } from './monitoring/monitoring.module.js';
import { JobsModule } from './jobs/jobs.module.js';
import { ChangesModule } from './changes/changes.module.js';
import { ServicesModule } from './services/services.module.js';
import { VolumesModule } from './volumes/volumes.module.js';
import { WorkloadPolicyModule } from './policy/workload-policy.module.js';
import { CoreModule, type GatewayOverrides } from './core.module.js';
import { DatabaseModule } from './database/database.module.js';
import { HealthController } from './health/health.controller.js';

@Module({})
export class AppModule {
  static forRoot(config: Config, logger: Logger, overrides: GatewayOverrides = {}): DynamicModule {
    return {
      module: AppModule,
      imports: [
        CoreModule.forRoot(config, logger, overrides),
        DatabaseModule,
        AuthModule,
        GraphQLModule.forRoot<ApolloDriverConfig>({
          driver: ApolloDriver,
          path: '/graphql',
          autoSchemaFile: true,
          sortSchema: true,
          transformSchema: describeRootTypes,
          introspection: config.graphql.introspection,
          // the IDE is the gateway's own bundled GraphiQL (graphql/graphql-ide.ts), not Apollo's CDN page
          graphiql: false,
          includeStacktraceInErrorResponses: false,
          formatError: formatGraphqlError,
          validationRules: [depthRule(config.graphql.maxDepth)],
          // Apollo's cache-control plugin, on by default, wraps every field's resolver to collect cache hints
          // Berth never gives (answers are per token, never cached): about a third of a long list's time
          plugins: [costPlugin(config.graphql.maxCost), ApolloServerPluginCacheControlDisabled()],
          // HTTP calls carry their token in the request; subscriptions in the connection parameters
          context: (ctx: { req?: unknown; connectionParams?: Record<string, unknown>; extra?: { connectionParams?: Record<string, unknown> } }) => ({
            req: ctx.req,
            connectionParams: ctx.connectionParams ?? ctx.extra?.connectionParams ?? {},
          }),
          subscriptions: { 'graphql-ws': true },
        }),
        ClustersModule,
        ComposeModule,
        ChangesModule,
        AppsModule,
        ServicesModule,
        JobsModule,
        VolumesModule,
        WorkloadPolicyModule,
        LifecycleGraphqlModule,
        MonitoringModule,
      ],
      controllers: [HealthController],
      providers: [{ provide: APP_FILTER, useClass: ErrorFilter }],
    };
  }
}
