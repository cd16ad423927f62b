import { Controller, Get, Param, Query, Req, Res } from '@nestjs/common';
import { ApiProduces, ApiQuery, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { ApiContract } from '../../common/openapi.js';
import { drained, writeSse } from '../../common/sse-response.js';
import { LogLineSchema, LogsService } from './logs.service.js';

@ApiTags('logs')
@Controller('v1/clusters/:cluster/apps/:app/services/:service/logs')
export class LogsController {
  constructor(private readonly logs: LogsService) {}

  @Get()
  @ApiQuery({ name: 'follow', required: false, description: 'true: keep streaming new lines' })
  @ApiQuery({ name: 'tail', required: false, description: 'last N lines of each replica (default 100 unless since is given)' })
  @ApiQuery({ name: 'since', required: false, description: '"10m" (ago) or an RFC 3339 time' })
  @ApiQuery({ name: 'format', required: false, enum: ['ndjson', 'sse'] })
  @ApiProduces('application/x-ndjson', 'text/event-stream')
  @ApiContract({
    response: LogLineSchema,
    description:
      'The service\'s log lines from all its replicas, each with its replica and time: newline-delimited JSON (chunked), or server-sent events "log"',
    errors: [400, 404, 503],
  })
  async stream(
    @Param('cluster') cluster: string,
    @Param('app') app: string,
    @Param('service') service: string,
    @Query() query: Record<string, unknown>,
    @Req() req: Request,
    @Res() res: Response,
  ) {
    const abort = new AbortController();
    let opened;
    try {
      opened = await this.logs.open(cluster, app, service, query, abort.signal);
    } catch (e) {
      abort.abort();
      throw e;
    }
    const sse = opened.format === 'sse' || (opened.format === undefined && (req.headers.accept ?? '').includes('text/event-stream'));
    if (sse) {
      await writeSse(req, res, abort, opened.lines, (l) => ({ event: 'log', data: l }));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/x-ndjson; charset=utf-8', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' });
    res.flushHeaders();
    req.on('close', () => abort.abort());
    try {
      for await (const line of opened.lines) {
        // honour backpressure: a slow reader slows the log read instead of filling memory
        if (!res.write(`${JSON.stringify(line)}\n`)) await drained(res, abort.signal);
      }
    } catch (e) {
      if (!abort.signal.aborted) res.write(`${JSON.stringify({ error: e instanceof Error ? e.message : String(e) })}\n`);
    } finally {
      abort.abort();
      res.end();
    }
  }
}
