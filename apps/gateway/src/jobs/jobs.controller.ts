import { Body, Controller, Get, Param, Post, Query, Res } from '@nestjs/common';
import { ApiHeader, ApiQuery, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { z } from 'zod';
import { JobSpec } from '@berth/model';
import { type Caller, CallerOf, pageOf } from '../common/caller.js';
import { ApiContract } from '../common/openapi.js';
import { OperationViewSchema } from '../changes/operation.views.js';
import { JobsService } from './jobs.service.js';

export const JobRunSchema = z.object({
  id: z.uuid(),
  cluster: z.string(),
  app: z.string(),
  name: z.string(),
  nativeName: z.string().describe('the Swarm service or Kubernetes Job of this run'),
  status: z.enum(['pending', 'running', 'succeeded', 'failed']),
  succeeded: z.number().int(),
  failed: z.number().int(),
  runs: z.array(
    z.object({ id: z.string(), state: z.string(), exitCode: z.number().optional(), node: z.string().optional(), message: z.string().optional() }).passthrough(),
  ),
  logTail: z.string().optional().describe('last lines of output, kept when the job ends'),
  startedAt: z.string(),
  finishedAt: z.string().optional(),
  durationMs: z.number().optional(),
  operationId: z.string().optional(),
  spec: JobSpec,
});

@ApiTags('jobs')
@Controller('v1/clusters/:cluster/jobs')
export class JobsController {
  constructor(private readonly jobs: JobsService) {}

  @Post()
  @ApiHeader({ name: 'Idempotency-Key', required: false, description: 'A retried call with the same key returns the first run' })
  @ApiQuery({ name: 'wait', required: false, description: 'true: answer when the job has ended' })
  @ApiContract({
    body: JobSpec,
    response: z.object({ job: JobRunSchema, operation: OperationViewSchema }),
    status: 202,
    description: 'Runs a run-once job and follows it to completion',
    errors: [400, 403, 404, 503],
  })
  async run(@Param('cluster') cluster: string, @Body() body: unknown, @CallerOf() caller: Caller, @Res({ passthrough: true }) res: Response) {
    const result = await this.jobs.run(cluster, body, caller);
    res.status(result.operation.status === 'running' ? 202 : 200);
    return result;
  }

  @Get()
  @ApiQuery({ name: 'app', required: false })
  @ApiQuery({ name: 'name', required: false })
  @ApiQuery({ name: 'cursor', required: false })
  @ApiQuery({ name: 'limit', required: false })
  @ApiContract({ response: z.object({ items: z.array(JobRunSchema), nextCursor: z.string().optional() }), description: 'Job runs, newest first' })
  list(@Param('cluster') cluster: string, @Query() query: Record<string, unknown>) {
    return this.jobs.list(cluster, { app: query.app as string | undefined, name: query.name as string | undefined }, pageOf(query));
  }

  @Get(':id')
  @ApiContract({ response: JobRunSchema, description: 'One run: status, exit codes per run, duration, log tail' })
  get(@Param('cluster') cluster: string, @Param('id') id: string) {
    return this.jobs.get(cluster, id);
  }
}
