import { applyDecorators, Controller, Get, Query, Req, Res } from '@nestjs/common';
import { ApiHeader, ApiProduces, ApiQuery, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { z } from 'zod';
import { ApiContract } from '../../common/openapi.js';
import { writeSse } from '../../common/sse-response.js';
import { EventViewSchema } from './event.views.js';
import { EventsService } from './events.service.js';

const filters = [
  ApiQuery({ name: 'cluster', required: false, description: 'cluster name or id' }),
  ApiQuery({ name: 'app', required: false }),
  ApiQuery({ name: 'service', required: false }),
  ApiQuery({
    name: 'kind',
    required: false,
    description: 'object kind: service, container, node, network, volume (Swarm); Pod, Deployment, Job, ... (Kubernetes)',
  }),
  ApiQuery({ name: 'action', required: false }),
];
const Filters = () => applyDecorators(...filters);

@ApiTags('events')
@Controller('v1/events')
export class EventsController {
  constructor(private readonly events: EventsService) {}

  @Get()
  @Filters()
  @ApiQuery({ name: 'operation', required: false, description: 'only events linked to this operation id' })
  @ApiQuery({ name: 'since', required: false, description: 'ISO 8601 time' })
  @ApiQuery({ name: 'until', required: false, description: 'ISO 8601 time' })
  @ApiQuery({ name: 'order', required: false, enum: ['desc', 'asc'] })
  @ApiQuery({ name: 'cursor', required: false, description: 'nextCursor of the previous page' })
  @ApiQuery({ name: 'limit', required: false, description: '1-1000, default 100' })
  @ApiContract({
    response: z.object({ items: z.array(EventViewSchema), nextCursor: z.string().optional() }),
    description: 'Cluster events Berth recorded (kept beyond what the orchestrator keeps), each linked to the operation that was running on its app or service',
  })
  list(@Query() query: Record<string, unknown>) {
    return this.events.query(query);
  }

  @Get('stream')
  @Filters()
  @ApiQuery({ name: 'after', required: false, description: 'replay stored events after this event id first' })
  @ApiHeader({ name: 'Last-Event-ID', required: false, description: 'sent by SSE clients when they reconnect: the same as `after`' })
  @ApiProduces('text/event-stream')
  @ApiContract({
    description: 'Server-sent events: each stored cluster event as event "cluster-event" (its id is the SSE id), as it is recorded, by any gateway replica',
  })
  async stream(@Query() query: Record<string, unknown>, @Req() req: Request, @Res() res: Response) {
    const abort = new AbortController();
    const lastEventId = req.headers['last-event-id'];
    let items;
    try {
      items = await this.events.open(query, abort.signal, typeof lastEventId === 'string' ? lastEventId : undefined);
    } catch (e) {
      abort.abort();
      throw e;
    }
    await writeSse(req, res, abort, items, (e) => ({ id: e.id, event: 'cluster-event', data: e }));
  }
}
