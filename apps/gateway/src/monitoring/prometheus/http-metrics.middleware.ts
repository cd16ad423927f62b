import { Injectable, type NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { GatewayMetrics } from './gateway-metrics.js';

/** Streams stay open for minutes: as latency they would only drown the request histograms. */
const STREAMS = /^(text\/event-stream|application\/x-ndjson)/;

/**
 * Times every HTTP request by its route pattern (/v1/clusters/:cluster, not the concrete path, so
 * the number of series stays bounded); unknown paths share one "unmatched" label.
 */
@Injectable()
export class HttpMetricsMiddleware implements NestMiddleware {
  constructor(private readonly metrics: GatewayMetrics) {}

  use(req: Request, res: Response, next: NextFunction) {
    const started = process.hrtime.bigint();
    res.once('finish', () => {
      if (STREAMS.test(String(res.getHeader('content-type') ?? ''))) return;
      const route = (req.route as { path?: string } | undefined)?.path ?? (req.originalUrl.split('?')[0] === '/graphql' ? '/graphql' : 'unmatched');
      this.metrics.httpDuration.observe({ method: req.method, route, status: String(res.statusCode) }, Number(process.hrtime.bigint() - started) / 1e9);
    });
    next();
  }
}
