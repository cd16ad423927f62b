import { Controller, Get, Param, Query, Req, Res } from '@nestjs/common';
import { ApiProduces, ApiQuery, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { z } from 'zod';
import { parseOrThrow } from '@berth/model';
import { pageOf } from '../common/caller.js';
import { ApiContract } from '../common/openapi.js';
import { writeSse } from '../common/sse-response.js';
import { OperationEvents } from './operation-events.js';
import { OperationKindSchema, OperationStatusSchema, OperationViewSchema, operationView } from './operation.views.js';
import { OperationHistory } from './operation-history.service.js';

export const OperationFilterSchema = z.strictObject({
  cluster: z.string().optional(),
  app: z.string().optional(),
  service: z.string().optional(),
  status: OperationStatusSchema.optional(),
  kind: OperationKindSchema.optional(),
  requester: z.string().optional(),
  since: z.coerce.date().optional(),
  until: z.coerce.date().optional(),
  cursor: z.string().optional(),
  limit: z.coerce.number().optional(),
});

@ApiTags('operations')
@Controller('v1/operations')
export class OperationsController {
  constructor(
    private readonly operations: OperationHistory,
    private readonly events: OperationEvents,
  ) {}

  @Get()
  @ApiQuery({ name: 'cluster', required: false })
  @ApiQuery({ name: 'app', required: false })
  @ApiQuery({ name: 'service', required: false })
  @ApiQuery({ name: 'status', required: false, enum: OperationStatusSchema.options })
  @ApiQuery({ name: 'kind', required: false, enum: OperationKindSchema.options })
  @ApiQuery({ name: 'requester', required: false })
  @ApiQuery({ name: 'since', required: false, description: 'ISO 8601 time' })
  @ApiQuery({ name: 'until', required: false, description: 'ISO 8601 time' })
  @ApiQuery({ name: 'cursor', required: false, description: 'nextCursor of the previous page' })
  @ApiQuery({ name: 'limit', required: false, description: '1-200, default 50' })
  @ApiContract({
    response: z.object({ items: z.array(OperationViewSchema), nextCursor: z.string().optional() }),
    description: 'Who changed what, when, from which revision to which, and how it ended; newest first',
  })
  async list(@Query() query: Record<string, unknown>) {
    const { cursor: _c, limit: _l, ...filter } = parseOrThrow(OperationFilterSchema, query, 'query');
    const page = pageOf(query);
    const { items, nextCursor } = await this.operations.query(filter, page);
    return { items: items.map((op) => operationView(op)), nextCursor };
  }

  @Get(':id')
  @ApiContract({ response: OperationViewSchema, description: 'One operation with its progress' })
  async get(@Param('id') id: string) {
    return operationView(await this.operations.get(id));
  }

  @Get(':id/events')
  @ApiProduces('text/event-stream')
  @ApiContract({ description: 'Server-sent events: the progress so far, then live progress until the operation ends (event "end" carries its final status)' })
  async stream(@Param('id') id: string, @Req() req: Request, @Res() res: Response) {
    const abort = new AbortController();
    // subscribe before reading the history, so nothing falls between the stored rows and the live ones
    const live = this.events.subscribe(id, abort.signal);
    const op = await this.operations.get(id).catch((e: unknown) => {
      abort.abort();
      throw e;
    });
    const key = (p: { time: string; phase: string; service?: string; message?: string }) => `${p.time}|${p.service ?? ''}|${p.phase}|${p.message ?? ''}`;
    const seen = new Set(op.progress.map(key));
    const operations = this.operations;
    async function* frames(): AsyncGenerator<{ event: string; data: unknown }> {
      for (const p of op.progress) yield { event: 'progress', data: p };
      if (!operations.isOpen(op)) {
        yield { event: 'end', data: { status: op.status, error: op.error ?? undefined } };
        return;
      }
      for await (const e of live) {
        if (seen.has(key(e))) continue;
        const { final, ...progress } = e;
        yield { event: 'progress', data: progress };
        if (final) {
          const closed = await operations.get(id);
          yield { event: 'end', data: { status: closed.status, error: closed.error ?? undefined } };
          return;
        }
      }
    }
    await writeSse(req, res, abort, frames(), (frame) => frame);
  }
}
