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

const ReadModelSchema = z
  .object({
    state: z
      .enum(['off', 'syncing', 'live', 'stale'])
      .describe('live: reads are answered from it; stale: its watch broke, reads go to the orchestrator until it is listed again'),
    objects: z.record(z.string(), z.number().int()).describe('objects held, by native kind'),
    syncedAt: z.string().optional().describe('the last complete list'),
    lastChangeAt: z.string().optional().describe('the last change its watch delivered'),
    resyncs: z.number().int(),
    reconnects: z.number().int(),
    reads: z.object({ cached: z.number().int(), fresh: z.number().int() }).describe('reads answered from it and from the orchestrator'),
    error: z.string().optional(),
  })
  .describe("this replica's watch-fed read model of the cluster (every replica keeps its own)");

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
      readModel: ReadModelSchema.optional(),
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
