import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import helmet from 'helmet';
import type { NextFunction, Request, Response } from 'express';
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { Logger } from 'pino';
import { AppModule } from './app.module.js';
import { CorrelationMiddleware } from './common/correlation.middleware.js';
import { refuseNul } from './common/nul-guard.middleware.js';
import { graphqlIde } from './graphql/graphql-ide.js';
import { PinoNestLogger } from './common/logger.js';
import { OPENAPI_OVERRIDES, registerOpenApiComponents } from './common/openapi-components.js';
import { finishOpenApiDocument, plainReferences } from './common/openapi-document.js';
import { resolveOpenApiSchemas } from './common/zod.js';
import type { Config } from './config/config.js';
import type { GatewayOverrides } from './core.module.js';
import { VERSION } from './health/health.controller.js';

/** Builds the gateway (not listening yet): used by main and by the tests. */
export async function createApp(config: Config, logger: Logger, overrides: GatewayOverrides = {}): Promise<INestApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config, logger, overrides), {
    logger: new PinoNestLogger(logger),
    bodyParser: false,
    httpsOptions: config.http.tls ? { cert: readFileSync(config.http.tls.certFile), key: readFileSync(config.http.tls.keyFile) } : undefined,
    // CORS stays off unless origins are configured
    cors: config.http.corsOrigins.length ? { origin: config.http.corsOrigins, credentials: false } : false,
  });
  const correlation = new CorrelationMiddleware(logger);
  app.use(correlation.use.bind(correlation));
  // the docs page needs inline scripts and styles; everything else gets helmet's strict defaults
  const docsHeaders = helmet({ contentSecurityPolicy: false });
  const strictHeaders = helmet();
  app.use((req: Request, res: Response, next: NextFunction) => (req.path.startsWith('/docs') ? docsHeaders : strictHeaders)(req, res, next));
  // the GraphQL IDE needs the schema: offered where introspection is on
  if (config.graphql.introspection) app.use(graphqlIde());
  app.useBodyParser('json', { limit: config.http.bodyLimit });
  app.useBodyParser('text', { limit: config.http.bodyLimit, type: ['application/yaml', 'application/x-yaml', 'text/yaml', 'text/plain'] });
  app.use(refuseNul);
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  app.enableShutdownHooks();

  SwaggerModule.setup('docs', app, openApiDocument(app), { jsonDocumentUrl: 'docs/openapi.json' });
  return app;
}

/** The OpenAPI document of the REST API, from the controllers' decorators. */
export function openApiDocument(app: INestApplication) {
  registerOpenApiComponents();
  const schemas = plainReferences(resolveOpenApiSchemas(OPENAPI_OVERRIDES)) as Record<string, object>;
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Berth')
      .setDescription('One control API for Docker Swarm and Kubernetes. Errors have the shape `{ error: { code, message, details?, correlationId } }`.')
      .setVersion(VERSION)
      .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'An API token: berth_<id>_<secret>' })
      .addSecurityRequirements('bearer')
      .build(),
    { operationIdFactory: operationId },
  );
  document.components = { ...document.components, schemas };
  return finishOpenApiDocument(plainReferences(document) as typeof document, PUBLIC_OPERATIONS);
}

/** Operations marked @Public: no token, so no 401/403/429 and `security: []`. */
const PUBLIC_OPERATIONS: ReadonlySet<string> = new Set(['getHealth', 'getReadiness', 'scrapePrometheusMetrics']);

/** The operationId of each endpoint: the name a generated client gives its method. */
const OPERATION_IDS: Record<string, string> = {
  HealthController_health: 'getHealth',
  HealthController_ready: 'getReadiness',
  TokensController_create: 'createToken',
  TokensController_list: 'listTokens',
  TokensController_revoke: 'revokeToken',
  AuditController_list: 'listAuditEntries',
  ClustersController_register: 'registerCluster',
  ClustersController_list: 'listClusters',
  ClustersController_get: 'getCluster',
  ClustersController_update: 'updateCluster',
  ClustersController_remove: 'removeCluster',
  ComposeController_convert: 'convertCompose',
  OperationsController_list: 'listOperations',
  OperationsController_get: 'getOperation',
  OperationsController_stream: 'streamOperationEvents',
  AppsController_apply: 'applyApp',
  AppsController_list: 'listApps',
  AppsController_plan: 'planApp',
  AppsController_get: 'getApp',
  AppsController_remove: 'removeApp',
  AppsController_rollback: 'rollbackApp',
  AppsController_revisions: 'listAppRevisions',
  AppsController_diff: 'diffAppRevisions',
  AppsController_revision: 'getAppRevision',
  ServicesController_list: 'listServices',
  ServicesController_get: 'getService',
  ServicesController_update: 'updateService',
  ServicesController_scale: 'scaleService',
  ServicesController_rollback: 'rollbackService',
  JobsController_run: 'runJob',
  JobsController_list: 'listJobs',
  JobsController_get: 'getJob',
  VolumesController_list: 'listVolumes',
  VolumesController_create: 'createVolume',
  VolumesController_remove: 'removeVolume',
  WorkloadPolicyController_get: 'getWorkloadPolicy',
  WorkloadPolicyController_set: 'setWorkloadPolicy',
  EventsController_list: 'listEvents',
  EventsController_stream: 'streamEvents',
  MetricsController_query: 'queryMetrics',
  LogsController_stream: 'streamServiceLogs',
  MonitoringController_status: 'getMonitoringStatus',
  PrometheusController_scrape: 'scrapePrometheusMetrics',
};

function operationId(controllerKey: string, methodKey: string): string {
  const id = OPERATION_IDS[`${controllerKey}_${methodKey}`];
  // a new endpoint must be named here, or the document would carry a Nest-internal name
  if (!id) throw new Error(`no operationId for ${controllerKey}.${methodKey}: add it to OPERATION_IDS in app.factory.ts`);
  return id;
}
