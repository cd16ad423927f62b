import 'reflect-metadata';
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { Logger } from 'pino';
import { AppModule } from './app.module.js';
import { CorrelationMiddleware } from './common/correlation.middleware.js';
import { PinoNestLogger } from './common/logger.js';
import type { Config } from './config/config.js';
import { VERSION } from './health/health.controller.js';

/** Builds the gateway (not listening yet): used by main and by the tests. */
export async function createApp(config: Config, logger: Logger): Promise<INestApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config, logger), {
    logger: new PinoNestLogger(logger),
    bodyParser: false,
  });
  const correlation = new CorrelationMiddleware(logger);
  app.use(correlation.use.bind(correlation));
  app.useBodyParser('json', { limit: '1mb' });
  app.useBodyParser('text', { limit: '1mb', type: ['application/yaml', 'application/x-yaml', 'text/yaml', 'text/plain'] });
  app.disable('x-powered-by');
  app.enableShutdownHooks();

  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Berth')
      .setDescription('One control API for Docker Swarm and Kubernetes. Errors have the shape `{ error: { code, message, details?, correlationId } }`.')
      .setVersion(VERSION)
      .build(),
  );
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs/openapi.json' });
  return app;
}
