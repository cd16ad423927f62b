import { Body, Controller, Delete, Get, HttpCode, Param, ParseIntPipe, Post, Query, Res } from '@nestjs/common';
import { ApiConsumes, ApiQuery, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { z } from 'zod';
import { AppSpec, parseOrThrow } from '@berth/model';
import { RequireAccess } from '../auth/auth.decorators.js';
import { type Caller, CallerOf, pageOf } from '../common/caller.js';
import { BerthError } from '../common/errors.js';
import { ApiContract, IdempotencyKeyHeader, WaitQuery } from '../common/openapi.js';
import { AppViewSchema, ChangeResultSchema, PlanSchema, RevisionDiffSchema, RevisionViewSchema } from './app.schemas.js';
import { type ApplyInput, AppsService } from './apps.service.js';
import { answer } from '../common/answer.js';
import { FreshQuery, readOptions } from '../common/read-consistency.js';
import { RollbackRequest } from '../common/change-requests.js';
import { ComposeQueries, composeQueryOptions } from '../compose/compose.query.js';
import { ComposeConvertRequest } from '../compose/compose.schemas.js';

/** A JSON body is an AppSpec; a YAML body (application/yaml) is a Compose file. */
/**
 * A JSON body is an AppSpec, or a Compose request ({"compose": "<yaml>", env, files, ...}, as
 * POST /v1/compose/convert takes it); a YAML body (application/yaml) is a Compose file.
 */
function applyInput(body: unknown, query: Record<string, unknown>): ApplyInput {
  const name = typeof query.name === 'string' ? query.name : undefined;
  if (typeof body === 'string') return { compose: body, name, composeOptions: composeQueryOptions(query) };
  if (typeof body === 'object' && body !== null && typeof (body as { compose?: unknown }).compose === 'string') {
    const { compose, name: named, strict, ...composeOptions } = parseOrThrow(ComposeConvertRequest, body, 'Compose request');
    if (strict) throw BerthError.invalid('strict: only POST /v1/compose/convert takes it');
    return { compose, name: named ?? name, composeOptions };
  }
  return { spec: body };
}

@ApiTags('apps')
@Controller('v1/clusters/:cluster/apps')
export class AppsController {
  constructor(private readonly apps: AppsService) {}

  @Post()
  @ApiConsumes('application/json', 'application/yaml')
  @IdempotencyKeyHeader
  @WaitQuery
  @ApiQuery({ name: 'name', required: false, description: 'App name for a Compose file without a top-level "name"' })
  @ComposeQueries
  @ApiContract({
    body: AppSpec,
    response: ChangeResultSchema,
    status: 202,
    description:
      'Applies an AppSpec (JSON), a Compose file (YAML, import options as query parameters) or a JSON Compose request ({"compose": "<yaml>", ...} as POST /v1/compose/convert takes it). 202 with the running operation; 200 when nothing changed or with ?wait=true. For Compose, the answer carries the conversion report',
    errors: [400, 403, 404, 409, 503],
  })
  async apply(
    @Param('cluster') cluster: string,
    @Body() body: unknown,
    @Query() query: Record<string, unknown>,
    @CallerOf() caller: Caller,
    @Res({ passthrough: true }) res: Response,
  ) {
    return answer(res, await this.apps.apply(cluster, applyInput(body, query), caller));
  }

  @Post('plan')
  @RequireAccess('read')
  @HttpCode(200)
  @ApiConsumes('application/json', 'application/yaml')
  @ApiQuery({ name: 'name', required: false, description: 'App name for a Compose file without a top-level "name"' })
  @ComposeQueries
  @ApiContract({
    body: AppSpec,
    response: PlanSchema,
    description:
      "Dry run: the native objects and their diff against what runs; changes nothing. Takes the same bodies as apply; for Compose, the conversion report with this orchestrator's notes",
    errors: [400, 404, 503],
  })
  plan(@Param('cluster') cluster: string, @Body() body: unknown, @Query() query: Record<string, unknown>) {
    return this.apps.plan(cluster, applyInput(body, query));
  }

  @Get()
  @ApiContract({ response: z.object({ items: z.array(AppViewSchema) }), description: 'The apps Berth deployed on the cluster' })
  async list(@Param('cluster') cluster: string) {
    return { items: await this.apps.list(cluster) };
  }

  @Get(':app')
  @FreshQuery
  @ApiContract({ response: AppViewSchema, description: 'Desired state (current revision) against actual state, per service', errors: [404, 503] })
  get(@Param('cluster') cluster: string, @Param('app') app: string, @Query('fresh') fresh?: unknown) {
    return this.apps.get(cluster, app, readOptions(fresh));
  }

  @Delete(':app')
  @IdempotencyKeyHeader
  @ApiQuery({ name: 'volumes', required: false, description: "true: also remove the app's named volumes (shared volumes are kept)" })
  @ApiContract({ response: ChangeResultSchema, description: 'Removes the app from the cluster; its history stays', errors: [404, 409, 503] })
  async remove(
    @Param('cluster') cluster: string,
    @Param('app') app: string,
    @Query('volumes') volumes: string | undefined,
    @CallerOf() caller: Caller,
    @Res({ passthrough: true }) res: Response,
  ) {
    return answer(res, await this.apps.remove(cluster, app, { volumes: volumes === 'true' }, caller));
  }

  @Post(':app/rollback')
  @IdempotencyKeyHeader
  @WaitQuery
  @ApiContract({
    body: RollbackRequest,
    response: ChangeResultSchema,
    status: 202,
    description: 'Rolls every service back to an earlier revision (default: the previous one), as a new revision',
    errors: [400, 403, 404, 409, 503],
  })
  async rollback(
    @Param('cluster') cluster: string,
    @Param('app') app: string,
    @Body() body: unknown,
    @CallerOf() caller: Caller,
    @Res({ passthrough: true }) res: Response,
  ) {
    const { revision } = parseOrThrow(RollbackRequest, body ?? {}, 'rollback request');
    return answer(res, await this.apps.rollback(cluster, app, revision, caller));
  }

  @Get(':app/revisions')
  @ApiQuery({ name: 'cursor', required: false, description: 'the last revision number of the previous page' })
  @ApiQuery({ name: 'limit', required: false })
  @ApiContract({ response: z.object({ items: z.array(RevisionViewSchema), nextCursor: z.number().int().optional() }), description: 'Revisions, newest first' })
  revisions(@Param('cluster') cluster: string, @Param('app') app: string, @Query() query: Record<string, unknown>) {
    const page = pageOf(query);
    const cursor = page.cursor === undefined ? undefined : Number(page.cursor);
    if (cursor !== undefined && !Number.isInteger(cursor)) throw BerthError.invalid('cursor: expected a revision number');
    return this.apps.revisions(cluster, app, { cursor, limit: page.limit });
  }

  @Get(':app/revisions/diff')
  @ApiQuery({ name: 'from', required: true })
  @ApiQuery({ name: 'to', required: true })
  @ApiContract({ response: RevisionDiffSchema, description: 'Field-by-field difference between two revisions' })
  diff(@Param('cluster') cluster: string, @Param('app') app: string, @Query('from', ParseIntPipe) from: number, @Query('to', ParseIntPipe) to: number) {
    return this.apps.diff(cluster, app, from, to);
  }

  @Get(':app/revisions/:number')
  @ApiContract({ response: RevisionViewSchema, description: 'One revision with its full spec' })
  revision(@Param('cluster') cluster: string, @Param('app') app: string, @Param('number', ParseIntPipe) number: number) {
    return this.apps.revision(cluster, app, number);
  }
}
