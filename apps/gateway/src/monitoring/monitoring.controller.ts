import { Controller, Get } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { ApiContract } from '../common/openapi.js';
import { MonitoringSupervisor } from './monitoring-supervisor.service.js';

const WatcherSchema = z.object({
  state: z.enum(['connecting', 'streaming', 'retrying', 'stopped']),
  since: z.string(),
  cursor: z.string().optional().describe("resume position in the orchestrator's event stream"),
  lastEventAt: z.string().optional(),
  lastError: z.string().optional(),
  reconnects: z.number().int(),
  stored: z.number().int(),
  lagSeconds: z.number().optional(),
});

const CollectorSchema = z.object({
  state: z.enum(['starting', 'collecting', 'unsupported', 'failing', 'stopped']),
  message: z.string().optional(),
  since: z.string(),
  lastSampleAt: z.string().optional(),
  lastBatchSize: z.number().int().optional(),
  lastDurationMs: z.number().optional(),
  batches: z.number().int(),
});

export const MonitoringViewSchema = z.object({
  instance: z.string().describe('this gateway replica'),
  enabled: z.boolean().describe('whether this replica takes background work (BERTH_MONITORING)'),
  leaseTtlMs: z.number().int(),
  clusters: z.array(
    z.object({
      cluster: z.string(),
      clusterId: z.uuid(),
      kind: z.string(),
      owner: z.string().optional().describe("the replica running this cluster's event watcher and metrics collector"),
      ownedSince: z.string().optional(),
      leaseExpiresAt: z.string().optional(),
      local: z.boolean().describe('the owner is this replica'),
      events: WatcherSchema.optional(),
      metrics: CollectorSchema.optional(),
    }),
  ),
  rollup: z.object({ owner: z.string().optional(), leaseExpiresAt: z.string().optional(), local: z.boolean(), status: z.unknown().optional() }),
});

@ApiTags('monitoring')
@Controller('v1/monitoring')
export class MonitoringController {
  constructor(private readonly supervisor: MonitoringSupervisor) {}

  @Get()
  @ApiContract({
    response: MonitoringViewSchema,
    description: 'Which gateway replica watches events and collects metrics for each cluster, and how that is going (the same answer from every replica)',
    errors: [],
  })
  status() {
    return this.supervisor.view();
  }
}
