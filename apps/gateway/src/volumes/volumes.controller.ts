import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiQuery, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { type Caller, CallerOf } from '../common/caller.js';
import { ApiContract } from '../common/openapi.js';
import { FreshQuery, ObservationSchema, readOptions } from '../common/read-consistency.js';
import { OperationViewSchema } from '../changes/operation.views.js';
import { CreateVolumeRequest, VolumesService } from './volumes.service.js';

export const VolumeSchema = z.object({
  name: z.string(),
  nativeName: z.string(),
  app: z.string().optional(),
  kind: z.enum(['implicit', 'named', 'hostPath', 'shared']),
  driver: z.string().optional(),
  storageClass: z.string().optional(),
  size: z.string().optional(),
  status: z.string(),
  node: z.string().optional(),
  labels: z.record(z.string(), z.string()),
  createdAt: z.string().optional(),
  observed: ObservationSchema.optional().describe('on reads: where the data came from and how old it is'),
});

@ApiTags('volumes')
@Controller('v1/clusters/:cluster/volumes')
export class VolumesController {
  constructor(private readonly volumes: VolumesService) {}

  @Get()
  @ApiQuery({ name: 'app', required: false })
  @FreshQuery
  @ApiContract({
    response: z.object({ items: z.array(VolumeSchema) }),
    description: 'Volumes Berth manages, with the same kinds on both orchestrators',
    errors: [404, 503],
  })
  async list(@Param('cluster') cluster: string, @Query('app') app?: string, @Query('fresh') fresh?: unknown) {
    return { items: await this.volumes.list(cluster, app, readOptions(fresh)) };
  }

  @Post()
  @ApiContract({
    body: CreateVolumeRequest,
    response: z.object({ volume: VolumeSchema, operation: OperationViewSchema }),
    status: 201,
    description: 'Creates a named or shared volume for an app',
    errors: [400, 403, 404, 409, 503],
  })
  create(@Param('cluster') cluster: string, @Body() body: unknown, @CallerOf() caller: Caller) {
    return this.volumes.create(cluster, body, caller);
  }

  @Delete(':app/:name')
  @HttpCode(200)
  @ApiContract({
    response: z.object({ operation: OperationViewSchema }),
    description: 'Removes a volume (refused while a replica uses it)',
    errors: [404, 409, 503],
  })
  remove(@Param('cluster') cluster: string, @Param('app') app: string, @Param('name') name: string, @CallerOf() caller: Caller) {
    return this.volumes.remove(cluster, app, name, caller);
  }
}
