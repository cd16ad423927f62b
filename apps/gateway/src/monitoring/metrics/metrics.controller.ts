import { Controller, Get, Query } from '@nestjs/common';
import { ApiQuery, ApiTags } from '@nestjs/swagger';
import { ApiContract } from '../../common/openapi.js';
import { MetricsAnswerSchema } from './metric.schemas.js';
import { MetricsHistoryService } from './metrics-history.service.js';

@ApiTags('metrics')
@Controller('v1/metrics')
export class MetricsController {
  constructor(private readonly history: MetricsHistoryService) {}

  @Get()
  @ApiQuery({ name: 'cluster', required: true, description: 'cluster name or id' })
  @ApiQuery({ name: 'app', required: false })
  @ApiQuery({ name: 'service', required: false })
  @ApiQuery({ name: 'from', required: false, description: 'ISO 8601; 1 hour before `to` by default' })
  @ApiQuery({ name: 'to', required: false, description: 'ISO 8601; now by default' })
  @ApiQuery({ name: 'step', required: false, description: 'e.g. 15s, 1m, 1h; about 120 points by default, at most 1500' })
  @ApiQuery({ name: 'by', required: false, enum: ['service', 'replica'] })
  @ApiContract({
    response: MetricsAnswerSchema,
    description:
      'CPU, memory, network and block I/O history of running containers or pods, per service or replica, from the right stored resolution; `collection` says whether the cluster is being sampled (and why not)',
  })
  query(@Query() query: Record<string, unknown>) {
    return this.history.query(query);
  }
}
