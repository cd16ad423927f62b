import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import type { Prisma, PrismaClient } from '@berth/db';
import { LOGGER } from '../common/logger.js';
import { requestContext } from '../common/request-context.js';
import { PRISMA } from '../database/database.module.js';

export interface AuditRecord {
  action: string;
  target?: string;
  clusterId?: string;
  /** allowed calls: "succeeded" or "failed:<code>"; refused ones: "denied:<code>". */
  result: string;
  details?: Record<string, unknown>;
}

export interface AuditView {
  id: string;
  time: string;
  actor: string;
  action: string;
  target?: string;
  clusterId?: string;
  result: string;
  correlationId?: string;
  details: Record<string, unknown>;
}

/** Who did what to which target, when, and how it ended: kept even when the call itself failed. */
@Injectable()
export class AuditService {
  constructor(
    @Inject(PRISMA) private readonly prisma: PrismaClient,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async record(entry: AuditRecord): Promise<void> {
    try {
      await this.prisma.auditEntry.create({
        data: {
          actor: requestContext.requester(),
          action: entry.action,
          target: entry.target,
          clusterId: entry.clusterId,
          result: entry.result,
          correlationId: requestContext.correlationId(),
          details: (entry.details ?? {}) as Prisma.InputJsonValue,
        },
      });
    } catch (e) {
      // the call's own outcome must not change because its audit line could not be written; say so loudly
      this.logger.error({ err: e, action: entry.action, result: entry.result }, 'could not write the audit entry');
    }
  }

  /** Newest first; `cursor` is the id of the last entry of the previous page. */
  async list(filter: { actor?: string; action?: string; result?: string; since?: Date; until?: Date }, page: { cursor?: string; limit: number }) {
    const cursor = page.cursor && /^\d+$/.test(page.cursor) ? BigInt(page.cursor) : undefined;
    const rows = await this.prisma.auditEntry.findMany({
      where: {
        actor: filter.actor,
        action: filter.action ? { contains: filter.action } : undefined,
        result: filter.result ? { startsWith: filter.result } : undefined,
        time: filter.since || filter.until ? { gte: filter.since, lt: filter.until } : undefined,
        ...(cursor !== undefined ? { id: { lt: cursor } } : {}),
      },
      orderBy: { id: 'desc' },
      take: page.limit + 1,
    });
    const more = rows.length > page.limit;
    if (more) rows.pop();
    const items: AuditView[] = rows.map((r) => ({
      id: r.id.toString(),
      time: r.time.toISOString(),
      actor: r.actor,
      action: r.action,
      target: r.target ?? undefined,
      clusterId: r.clusterId ?? undefined,
      result: r.result,
      correlationId: r.correlationId ?? undefined,
      details: r.details as Record<string, unknown>,
    }));
    return { items, nextCursor: more ? items[items.length - 1]?.id : undefined };
  }
}
