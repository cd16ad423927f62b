import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { RequireAccess } from '../auth/auth.decorators.js';
import { ApiContract } from '../common/openapi.js';
import { requestContext } from '../common/request-context.js';
import { ClusterViewSchema, RegisterCluster, UpdateCluster } from './cluster.schemas.js';
import { ClustersService, HEALTH_TTL_MS } from './clusters.service.js';

@ApiTags('clusters')
@Controller('v1/clusters')
export class ClustersController {
  constructor(private readonly clusters: ClustersService) {}

  @Post()
  @RequireAccess('admin')
  @ApiContract({
    body: RegisterCluster,
    response: ClusterViewSchema,
    status: 201,
    description: 'Registered: the cluster answered with these credentials. An unreachable cluster or bad credentials give 400 and store nothing.',
    errors: [400, 409],
  })
  register(@Body() body: unknown) {
    return this.clusters.register(body, requestContext.requester());
  }

  @Get()
  @ApiContract({
    response: z.object({ items: z.array(ClusterViewSchema) }),
    description:
      `Every cluster, with its health, version and node count read from the cluster at most ${HEALTH_TTL_MS / 1000} s ago (health.checkedAt says when); ` +
      'an older reading is taken again, 3 s bound each',
    errors: [],
  })
  async list() {
    return { items: await this.clusters.list() };
  }

  @Get(':cluster')
  @ApiContract({ response: ClusterViewSchema, description: 'The cluster with health, version and nodes read live from it on every call' })
  get(@Param('cluster') cluster: string) {
    return this.clusters.get(cluster);
  }

  @Patch(':cluster')
  @RequireAccess('admin')
  @ApiContract({ body: UpdateCluster, response: ClusterViewSchema, description: 'Updated; new connection details are probed before they are stored' })
  update(@Param('cluster') cluster: string, @Body() body: unknown) {
    return this.clusters.update(cluster, body);
  }

  @Delete(':cluster')
  @RequireAccess('admin')
  @HttpCode(200)
  @ApiContract({ response: z.object({ removed: z.string() }), description: 'Forgotten by Berth; nothing on the cluster changes' })
  remove(@Param('cluster') cluster: string) {
    return this.clusters.remove(cluster);
  }
}
