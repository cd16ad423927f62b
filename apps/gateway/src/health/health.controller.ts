import { Controller, Get, Inject, Res } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { z } from 'zod';
import type { PrismaClient } from '@berth/db';
import { Public } from '../auth/auth.decorators.js';
import { ApiContract } from '../common/openapi.js';
import { PRISMA } from '../database/database.module.js';
import { ClustersService } from '../clusters/clusters.service.js';

export const VERSION = '0.1.0';

const Ready = z.object({
  status: z.enum(['ready', 'not-ready']),
  database: z.object({ ok: z.boolean(), message: z.string().optional() }),
  clusters: z.array(z.object({ name: z.string(), status: z.string(), message: z.string().optional() })),
});

@ApiTags('health')
@Controller('v1')
@Public('health')
export class HealthController {
  constructor(
    @Inject(PRISMA) private readonly prisma: PrismaClient,
    private readonly clusters: ClustersService,
  ) {}

  @Get('health')
  @ApiContract({ response: z.object({ status: z.literal('ok'), version: z.string() }), description: 'The process is up (liveness)', errors: [] })
  health() {
    return { status: 'ok', version: VERSION };
  }

  @Get('ready')
  @ApiContract({
    response: Ready,
    description: "The database answers (readiness; 503 when it does not), with each cluster's state. An unreachable cluster does not make the gateway unready.",
    errors: [],
  })
  async ready(@Res({ passthrough: true }) res: Response) {
    let database: { ok: boolean; message?: string } = { ok: true };
    try {
      await this.prisma.$queryRaw`SELECT 1`;
    } catch (e) {
      database = { ok: false, message: e instanceof Error ? e.message.split('\n')[0] : String(e) };
    }
    const clusters = database.ok ? (await this.clusters.list()).map((c) => ({ name: c.name, status: c.health.status, message: c.health.message })) : [];
    if (!database.ok) res.status(503);
    return { status: database.ok ? 'ready' : 'not-ready', database, clusters };
  }
}
