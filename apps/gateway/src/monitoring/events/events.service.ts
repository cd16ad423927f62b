import { Inject, Injectable } from '@nestjs/common';
import { z } from 'zod';
import type { Prisma, PrismaClient } from '@berth/db';
import { parseOrThrow } from '@berth/model';
import { BerthError } from '../../common/errors.js';
import { type Principal, requestContext } from '../../common/request-context.js';
import { PRISMA } from '../../database/database.module.js';
import { ClustersService } from '../../clusters/clusters.service.js';
import { ClusterEventBus } from './cluster-event-bus.js';
import { eventScope, mayRead, requireVisible } from '../scope.js';
import { type EventFilter, type EventView, eventView } from './event.views.js';

const Id = z.string().regex(/^\d{1,19}$/, 'expected an event id (digits)');

export const EventQuerySchema = z.strictObject({
  cluster: z.string().min(1).optional(),
  app: z.string().min(1).optional(),
  service: z.string().min(1).optional(),
  kind: z.string().min(1).optional().describe('object kind: service, container, node, ... (Swarm); Pod, Deployment, ... (Kubernetes)'),
  action: z.string().min(1).optional(),
  operation: z.uuid().optional().describe('only events linked to this operation'),
  since: z.coerce.date().optional().describe('events at or after this time (ISO 8601)'),
  until: z.coerce.date().optional().describe('events before this time (ISO 8601)'),
  order: z.enum(['asc', 'desc']).default('desc').describe('desc: newest first (default); asc: oldest first'),
  cursor: Id.optional().describe('nextCursor of the previous page'),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});
export type EventQuery = z.input<typeof EventQuerySchema>;

export const EventStreamQuerySchema = z.strictObject({
  cluster: z.string().min(1).optional(),
  app: z.string().min(1).optional(),
  service: z.string().min(1).optional(),
  kind: z.string().min(1).optional(),
  action: z.string().min(1).optional(),
  after: Id.optional().describe("replay stored events after this id first (an SSE client's Last-Event-ID does the same)"),
});
export type EventStreamQuery = z.input<typeof EventStreamQuerySchema>;

/** Replayed before going live: enough to bridge a reconnect, not a way to read the whole history. */
const MAX_REPLAY = 1_000;

/** Cluster event history and live events: one service for REST, SSE and GraphQL. */
@Injectable()
export class EventsService {
  private readonly names = new Map<string, string>();

  constructor(
    @Inject(PRISMA) private readonly prisma: PrismaClient,
    private readonly clusters: ClustersService,
    private readonly bus: ClusterEventBus,
  ) {}

  async query(raw: unknown, principal: Principal | undefined = requestContext.principal()): Promise<{ items: EventView[]; nextCursor?: string }> {
    const q = parseOrThrow(EventQuerySchema, raw, 'query');
    const clusterId = q.cluster ? await this.clusterId(q.cluster, principal) : undefined;
    const where: Prisma.ClusterEventWhereInput = {
      ...eventScope(principal),
      clusterId,
      app: q.app,
      service: q.service,
      objectKind: q.kind,
      action: q.action,
      operationId: q.operation,
      time: q.since || q.until ? { gte: q.since, lt: q.until } : undefined,
    };
    if (q.cursor && !(await this.prisma.clusterEvent.findUnique({ where: { id: BigInt(q.cursor) }, select: { id: true } }))) {
      throw BerthError.invalid('cursor: no such event (it may have expired); start again without a cursor', [{ path: 'cursor', message: 'unknown' }]);
    }
    const rows = await this.prisma.clusterEvent.findMany({
      where,
      orderBy: [{ time: q.order }, { id: q.order }],
      take: q.limit + 1,
      ...(q.cursor ? { cursor: { id: BigInt(q.cursor) }, skip: 1 } : {}),
    });
    const more = rows.length > q.limit;
    if (more) rows.pop();
    return { items: await this.views(rows), nextCursor: more ? rows.at(-1)!.id.toString() : undefined };
  }

  /**
   * Stored events after `after` (when given), then live ones, until the signal aborts. Checks the
   * query and subscribes before it returns (a bad query fails before a stream is answered); the live
   * subscription starts before the replay is read, so nothing falls between them, and what both
   * deliver is sent once.
   */
  async open(
    raw: unknown,
    signal: AbortSignal,
    lastEventId?: string,
    principal: Principal | undefined = requestContext.principal(),
  ): Promise<AsyncIterable<EventView>> {
    const input = { ...((raw as object | undefined) ?? {}) } as Record<string, unknown>;
    if (lastEventId !== undefined && input.after === undefined) input.after = lastEventId;
    const q = parseOrThrow(EventStreamQuerySchema, input, 'query');
    const filter: EventFilter = {
      app: q.app,
      service: q.service,
      kind: q.kind,
      action: q.action,
      visible: (row) => mayRead(principal, row.clusterId, row.app),
    };
    if (q.cluster) filter.clusterId = await this.clusterId(q.cluster, principal);
    const live = this.bus.subscribe(filter, signal);
    const rows = q.after
      ? await this.prisma.clusterEvent.findMany({
          where: {
            ...eventScope(principal),
            id: { gt: BigInt(q.after) },
            clusterId: filter.clusterId,
            app: filter.app,
            service: filter.service,
            objectKind: filter.kind,
            action: filter.action,
          },
          orderBy: { id: 'asc' },
          take: MAX_REPLAY,
        })
      : [];
    const replay = await this.views(rows);
    const replayed = new Set(rows.map((r) => r.id));
    const views = (r: Parameters<typeof eventView>[0][]) => this.views(r);
    return (async function* () {
      yield* replay;
      for await (const row of live) {
        if (replayed.delete(row.id)) continue;
        yield (await views([row]))[0]!;
      }
    })();
  }

  private async clusterId(nameOrId: string, principal: Principal | undefined): Promise<string> {
    const cluster = await this.clusters.find(nameOrId);
    requireVisible(principal, cluster, nameOrId);
    return cluster.id;
  }

  private async views(rows: Parameters<typeof eventView>[0][]): Promise<EventView[]> {
    const missing = [...new Set(rows.map((r) => r.clusterId))].filter((id) => !this.names.has(id));
    if (missing.length) {
      for (const c of await this.prisma.cluster.findMany({ where: { id: { in: missing } }, select: { id: true, name: true } })) this.names.set(c.id, c.name);
    }
    return rows.map((r) => eventView(r, this.names.get(r.clusterId) ?? r.clusterId));
  }
}
