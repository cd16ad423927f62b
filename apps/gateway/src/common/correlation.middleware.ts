import { Inject, Injectable, type NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import type { Logger } from 'pino';
import { LOGGER } from './logger.js';
import { correlationIdFrom, type RequestContext, requestContext } from './request-context.js';

/** Gives every request a correlation id (echoed as x-request-id) and logs it once when it ends. */
@Injectable()
export class CorrelationMiddleware implements NestMiddleware {
  constructor(@Inject(LOGGER) private readonly logger: Logger) {}

  use(req: Request, res: Response, next: NextFunction) {
    const correlationId = correlationIdFrom(req.headers['x-request-id']);
    res.setHeader('x-request-id', correlationId);
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      requestContext.run({ correlationId, requester: 'anonymous' }, () =>
        this.logger.info({ method: req.method, path: req.path, status: res.statusCode, ms: Math.round(ms * 10) / 10 }, 'request'),
      );
    });
    const context: RequestContext = { correlationId, requester: 'anonymous' };
    res.on('close', () => delete context.clusters);
    requestContext.run(context, next);
  }
}
