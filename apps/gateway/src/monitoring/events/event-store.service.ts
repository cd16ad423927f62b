import { Inject, Injectable } from '@nestjs/common';
import type { Prisma, PrismaClient } from '@berth/db';
import type { ClusterEvent } from '@berth/driver';
import { PRISMA } from '../../database/database.module.js';
import { LeaseService, type Tx } from '../leases/lease.service.js';
import type { StoredEvent } from './event.views.js';

/** An event may be stamped a little before the operation that caused it was recorded (clock skew). */
const BEFORE_SKEW_MS = 1_000;
/** Replicas of a finished rollout are removed just after it ends: still its doing. */
const AFTER_GRACE_MS = 2_000;

interface Candidate {
  id: string;
  appName: string;
  service: string | null;
  start: number;
  end: number;
}

/**
 * Writes a watcher's batches: normalised rows, de-duplicated by the orchestrator's event id,
 * each linked to the operation that was running on its app or service when it happened, and the
 * resume cursor moved in the same transaction, so a restart resumes exactly after what is stored.
 */
@Injectable()
export class EventStore {
  constructor(
    @Inject(PRISMA) private readonly prisma: PrismaClient,
    private readonly leases: LeaseService,
  ) {}

  /** Stores `events` (in stream order) while `lease` is held; returns the rows that were new. */
  async store(clusterId: string, lease: string, events: ClusterEvent[]): Promise<StoredEvent[]> {
    if (events.length === 0) return [];
    const links = await this.links(clusterId, events);
    const cursor = events.at(-1)!.cursor;
    return this.leases.fenced(lease, async (tx: Tx) => {
      const rows = await tx.clusterEvent.createManyAndReturn({
        data: events.map((e, i) => ({
          clusterId,
          eventId: e.id,
          cursor: e.cursor,
          time: new Date(e.time),
          objectKind: e.objectKind,
          objectName: e.objectName,
          app: e.app ?? null,
          service: e.service ?? null,
          action: e.action,
          message: e.message ?? null,
          attributes: e.attributes as Prisma.InputJsonValue,
          operationId: links[i] ?? null,
        })),
        skipDuplicates: true,
      });
      // raw SQL: the cursor is bookkeeping, it must not bump the cluster's updatedAt
      await tx.$executeRaw`UPDATE "Cluster" SET "eventCursor" = ${cursor} WHERE "id" = ${clusterId}::uuid`;
      return rows.sort((a, b) => (a.id < b.id ? -1 : 1));
    });
  }

  /**
   * The operation each event belongs to: the one recorded on its app (and service, when the
   * operation names one) whose lifetime covers the event's time; a service-level operation wins
   * over an app-level one. Job runs are matched by their native name. One query for the batch.
   */
  private async links(clusterId: string, events: ClusterEvent[]): Promise<(string | undefined)[]> {
    const apps = [...new Set(events.flatMap((e) => (e.app ? [e.app] : [])))];
    if (apps.length === 0) return events.map(() => undefined);
    const times = events.map((e) => Date.parse(e.time));
    const from = new Date(Math.min(...times) - AFTER_GRACE_MS);
    const to = new Date(Math.max(...times) + BEFORE_SKEW_MS);
    const [ops, jobs] = await Promise.all([
      this.prisma.operation.findMany({
        where: { clusterId, app: { name: { in: apps } }, createdAt: { lte: to }, OR: [{ finishedAt: null }, { finishedAt: { gte: from } }] },
        select: { id: true, service: true, createdAt: true, finishedAt: true, app: { select: { name: true } } },
      }),
      this.prisma.jobRun.findMany({
        where: {
          clusterId,
          app: { in: apps },
          operationId: { not: null },
          operation: { createdAt: { lte: to }, OR: [{ finishedAt: null }, { finishedAt: { gte: from } }] },
        },
        select: { app: true, nativeName: true, operation: { select: { id: true, createdAt: true, finishedAt: true } } },
      }),
    ]);
    const span = (o: { createdAt: Date; finishedAt: Date | null }) => ({
      start: o.createdAt.getTime() - BEFORE_SKEW_MS,
      end: o.finishedAt ? o.finishedAt.getTime() + AFTER_GRACE_MS : Number.POSITIVE_INFINITY,
    });
    const candidates: Candidate[] = ops.map((o) => ({ id: o.id, appName: o.app!.name, service: o.service, ...span(o) }));
    const jobCandidates: Candidate[] = jobs.flatMap((j) =>
      j.operation && j.nativeName ? [{ id: j.operation.id, appName: j.app, service: j.nativeName, ...span(j.operation) }] : [],
    );
    return events.map((e, i) => {
      const t = times[i]!;
      const live = (c: Candidate) => c.appName === e.app && c.start <= t && t <= c.end;
      const job = e.service ? jobCandidates.find((c) => live(c) && c.service === e.service) : undefined;
      if (job) return job.id;
      const fitting = candidates.filter((c) => live(c) && (c.service === null || !e.service || c.service === e.service));
      fitting.sort((a, b) => Number(b.service === e.service) - Number(a.service === e.service) || b.start - a.start);
      return fitting[0]?.id;
    });
  }
}
