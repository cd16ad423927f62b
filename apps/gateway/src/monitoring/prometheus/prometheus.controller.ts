import { Controller, Get, Header, Res } from '@nestjs/common';
import { ApiProduces, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { Public } from '../../auth/auth.decorators.js';
import { ApiContract } from '../../common/openapi.js';
import { GatewayMetrics } from './gateway-metrics.js';

@ApiTags('monitoring')
@Public('metrics')
@Controller('metrics')
export class PrometheusController {
  constructor(private readonly metrics: GatewayMetrics) {}

  @Get()
  @Header('cache-control', 'no-store')
  @ApiProduces('text/plain')
  @ApiContract({
    description:
      'Prometheus exposition format: request and resolver latency, operations, watcher lag and reconnects, collector batches, database pool, and the latest metrics of every container this replica collects. Scrape every replica.',
    errors: [],
  })
  async scrape(@Res() res: Response) {
    const text = await this.metrics.text();
    res.setHeader('content-type', this.metrics.contentType);
    res.send(text);
  }
}
