import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { Logger } from 'pino';
import type { PrismaClient } from '@berth/db';
import { LOGGER } from '../../common/logger.js';
import { PRISMA } from '../../database/database.module.js';
import { OperationEvents } from '../../changes/operation-events.js';
import { GatewayMetrics } from './gateway-metrics.js';

/**
 * Counts operations by kind and result as they end on this replica. The final progress event
 * carries the status but not the kind, so the kind is read from the operation's record.
 */
@Injectable()
export class OperationMetricsService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly stopping = new AbortController();
  private done: Promise<void> | undefined;

  constructor(
    private readonly events: OperationEvents,
    private readonly metrics: GatewayMetrics,
    @Inject(PRISMA) private readonly prisma: PrismaClient,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  onApplicationBootstrap() {
    const live = this.events.subscribe('*', this.stopping.signal);
    this.done = (async () => {
      for await (const event of live) {
        if (!event.final) continue;
        try {
          const op = await this.prisma.operation.findUnique({ where: { id: event.operationId }, select: { kind: true, createdAt: true, finishedAt: true } });
          if (!op) continue;
          const labels = { kind: op.kind, result: event.final };
          this.metrics.operations.inc(labels);
          this.metrics.operationDuration.observe(labels, ((op.finishedAt ?? new Date()).getTime() - op.createdAt.getTime()) / 1000);
        } catch (e) {
          if (!this.stopping.signal.aborted)
            this.logger.warn({ operationId: event.operationId, err: (e as Error).message }, 'could not count a finished operation');
        }
      }
    })();
  }

  async onApplicationShutdown() {
    this.stopping.abort();
    await this.done;
  }
}
