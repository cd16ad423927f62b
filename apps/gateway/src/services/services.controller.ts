import { Body, Controller, Get, Param, Patch, Post, Query, Res } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { z } from 'zod';
import { type Caller, CallerOf } from '../common/caller.js';
import { ApiContract, IdempotencyKeyHeader, WaitQuery } from '../common/openapi.js';
import { ChangeResultSchema } from '../apps/app.schemas.js';
import { answer } from '../common/answer.js';
import { RollbackRequest, ScaleRequest, UpdateServiceRequest } from '../common/change-requests.js';
import { FreshQuery, ObservationSchema, readOptions } from '../common/read-consistency.js';
import { ServicesService } from './services.service.js';

const Endpoint = z.object({
  id: z.string(),
  replica: z.string(),
  node: z.string().optional(),
  address: z.string().optional(),
  hostname: z.string().optional(),
  state: z.string(),
  ready: z.boolean(),
  image: z.string().optional(),
});

export const DiscoverySchema = z.object({
  service: z.string(),
  image: z.string(),
  mode: z.string(),
  stateful: z.boolean(),
  replicas: z.object({ desired: z.number(), running: z.number(), ready: z.number(), updated: z.number() }),
  dnsName: z.string().describe('the name other services of the app resolve'),
  aliases: z.array(z.string()),
  virtualIps: z.array(z.string()),
  ports: z.array(z.object({ target: z.number(), published: z.number().optional(), protocol: z.string(), mode: z.string() })),
  endpoints: z.array(Endpoint).describe('running replicas with their node and address'),
  rollout: z.object({ state: z.string(), message: z.string().optional() }).passthrough(),
  observed: ObservationSchema,
});

@ApiTags('services')
@Controller('v1/clusters/:cluster/apps/:app/services')
export class ServicesController {
  constructor(private readonly services: ServicesService) {}

  @Get()
  @FreshQuery
  @ApiContract({
    response: z.object({ items: z.array(DiscoverySchema) }),
    description: 'Discovery data of every service: DNS names, virtual IPs, ports, endpoints',
    errors: [404, 503],
  })
  async list(@Param('cluster') cluster: string, @Param('app') app: string, @Query('fresh') fresh?: unknown) {
    return { items: await this.services.list(cluster, app, readOptions(fresh)) };
  }

  @Get(':service')
  @FreshQuery
  @ApiContract({ response: DiscoverySchema, description: 'Discovery data of one service', errors: [404, 503] })
  get(@Param('cluster') cluster: string, @Param('app') app: string, @Param('service') service: string, @Query('fresh') fresh?: unknown) {
    return this.services.get(cluster, app, service, readOptions(fresh));
  }

  @Post(':service/scale')
  @IdempotencyKeyHeader
  @WaitQuery
  @ApiContract({
    body: ScaleRequest,
    response: ChangeResultSchema,
    status: 202,
    description: 'Scales the service (a new revision); followed until the replicas run',
    errors: [400, 404, 409, 503],
  })
  async scale(
    @Param('cluster') cluster: string,
    @Param('app') app: string,
    @Param('service') service: string,
    @Body() body: unknown,
    @CallerOf() caller: Caller,
    @Res({ passthrough: true }) res: Response,
  ) {
    return answer(res, await this.services.scale(cluster, app, service, body, caller));
  }

  @Patch(':service')
  @IdempotencyKeyHeader
  @WaitQuery
  @ApiContract({
    body: UpdateServiceRequest,
    response: ChangeResultSchema,
    status: 202,
    description:
      'Changes image, command, env, resources or replicas and rolls the service with its update policy. 409 when another operation runs on it, or when it changed since expectedRevision (unless force)',
    errors: [400, 403, 404, 409, 503],
  })
  async update(
    @Param('cluster') cluster: string,
    @Param('app') app: string,
    @Param('service') service: string,
    @Body() body: unknown,
    @CallerOf() caller: Caller,
    @Res({ passthrough: true }) res: Response,
  ) {
    return answer(res, await this.services.update(cluster, app, service, body, caller));
  }

  @Post(':service/rollback')
  @IdempotencyKeyHeader
  @WaitQuery
  @ApiContract({
    body: RollbackRequest,
    response: ChangeResultSchema,
    status: 202,
    description: 'Rolls the service back to its spec in an earlier revision (default: the previous one)',
    errors: [400, 403, 404, 409, 503],
  })
  async rollback(
    @Param('cluster') cluster: string,
    @Param('app') app: string,
    @Param('service') service: string,
    @Body() body: unknown,
    @CallerOf() caller: Caller,
    @Res({ passthrough: true }) res: Response,
  ) {
    return answer(res, await this.services.rollback(cluster, app, service, body, caller));
  }
}
