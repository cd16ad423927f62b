import { Inject, Injectable } from '@nestjs/common';
import type { App, JobRun, Operation, OperationStatus, Prisma, PrismaClient, Revision } from '@berth/db';
import type { JobStatus } from '@berth/driver';
import { PRISMA } from '../database/database.module.js';
import type { ProgressEvent } from './operation-events.js';
import type { OutcomeCode } from './operation-outcome.js';

export type { Operation };

const OPEN: OperationStatus[] = ['pending', 'running'];

export interface NewOperation {
  clusterId: string;
  appId?: string;
  service?: string;
  kind: Operation['kind'];
  requester: string;
  idempotencyKey?: string;
  request: Prisma.InputJsonValue;
  fromRevision?: number;
  toRevision?: number;
}

export type OperationWithProgress = Operation & {
  progress: Prisma.OperationProgressGetPayload<object>[];
  app: { name: string } | null;
};

/**
 * The change pipeline's one seam over Prisma: operations and their progress, revisions, the app's
 * current revision and job runs. What the pipeline decides lives in the services; how it is kept
 * lives here.
 */
@Injectable()
export class ChangeStore {
  constructor(@Inject(PRISMA) private readonly prisma: PrismaClient) {}

  isOpen(status: OperationStatus): boolean {
    return OPEN.includes(status);
  }

  byIdempotencyKey(requester: string, idempotencyKey: string): Promise<Operation | null> {
    return this.prisma.operation.findUnique({ where: { requester_idempotencyKey: { requester, idempotencyKey } } });
  }

  /**
   * Creates the operation, unless another one is open on the same app (on the same service, or on
   * the whole app): then that one is returned. Serialised per app by an advisory lock, so two
   * concurrent requests cannot both pass the check.
   */
  createUnlessBusy(data: NewOperation): Promise<{ created: Operation } | { busy: Operation }> {
    const now = new Date();
    return this.prisma.$transaction(async (tx) => {
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${`${data.clusterId}/${data.appId ?? ''}`}))`;
      if (data.appId) {
        const busy = await tx.operation.findFirst({
          where: {
            clusterId: data.clusterId,
            appId: data.appId,
            status: { in: OPEN },
            ...(data.service ? { OR: [{ service: data.service }, { service: null }] } : {}),
          },
          orderBy: { createdAt: 'asc' },
        });
        if (busy) return { busy };
      }
      return { created: await tx.operation.create({ data: { ...data, status: 'running', createdAt: now, startedAt: now } }) };
    });
  }

  operation(id: string): Promise<Operation> {
    return this.prisma.operation.findUniqueOrThrow({ where: { id } });
  }

  operationWithProgress(id: string): Promise<OperationWithProgress | null> {
    return this.prisma.operation.findUnique({ where: { id }, include: { progress: { orderBy: { id: 'asc' } }, app: { select: { name: true } } } });
  }

  openOperations(): Promise<Operation[]> {
    return this.prisma.operation.findMany({ where: { status: { in: OPEN } }, orderBy: { createdAt: 'asc' } });
  }

  /** Newest first; `cursor` is the id of the last operation of the previous page. */
  async page(where: Prisma.OperationWhereInput, page: { cursor?: string; limit: number }): Promise<{ items: Operation[]; nextCursor?: string }> {
    const items = await this.prisma.operation.findMany({
      where,
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: page.limit + 1,
      ...(page.cursor ? { cursor: { id: page.cursor }, skip: 1 } : {}),
    });
    const more = items.length > page.limit;
    if (more) items.pop();
    return { items, nextCursor: more ? items[items.length - 1]?.id : undefined };
  }

  setResult(id: string, result: Record<string, unknown>): Promise<Operation> {
    return this.prisma.operation.update({ where: { id }, data: { result: result as Prisma.InputJsonValue } });
  }

  setTarget(id: string, toRevision: number | undefined): Promise<Operation> {
    return this.prisma.operation.update({ where: { id }, data: { toRevision } });
  }

  async finish(id: string, status: OperationStatus, extra: { error?: string; errorCode?: OutcomeCode; result?: Record<string, unknown> }): Promise<Operation> {
    // the result is merged into what the operation holds: read it only when there is one to merge
    const current = extra.result ? await this.operation(id) : undefined;
    return this.prisma.operation.update({
      where: { id },
      data: {
        status,
        finishedAt: new Date(),
        error: extra.error ?? null,
        errorCode: extra.errorCode ?? null,
        ...(extra.result ? { result: { ...((current?.result as object | null) ?? {}), ...extra.result } as Prisma.InputJsonValue } : {}),
      },
    });
  }

  async addProgress(operationId: string, event: Omit<ProgressEvent, 'operationId' | 'time' | 'final'>): Promise<Date> {
    const row = await this.prisma.operationProgress.create({
      data: {
        operationId,
        service: event.service,
        phase: event.phase,
        message: event.message,
        replicasUpdated: event.replicasUpdated,
        replicasReady: event.replicasReady,
        replicasTotal: event.replicasTotal,
        batchesDone: event.batchesDone,
        batchesTotal: event.batchesTotal,
      },
    });
    return row.time;
  }

  // ---------------------------------------------------------------- clusters and apps, by name

  clusterByRef(ref: string, isId: boolean) {
    return this.prisma.cluster.findFirst({ where: { OR: [{ name: ref }, ...(isId ? [{ id: ref }] : [])] } });
  }

  cluster(id: string) {
    return this.prisma.cluster.findUniqueOrThrow({ where: { id } });
  }

  appIdsByName(name: string, clusterId?: string): Promise<{ id: string }[]> {
    return this.prisma.app.findMany({ where: { name, ...(clusterId ? { clusterId } : {}) }, select: { id: true } });
  }

  appName(id: string): Promise<string | undefined> {
    return this.prisma.app.findUnique({ where: { id }, select: { name: true } }).then((a) => a?.name);
  }

  // ---------------------------------------------------------------- revisions

  async nextRevisionNumber(appId: string): Promise<number> {
    const last = await this.prisma.revision.findFirst({ where: { appId }, orderBy: { number: 'desc' }, select: { number: true } });
    return (last?.number ?? 0) + 1;
  }

  createRevision(data: Omit<Prisma.RevisionUncheckedCreateInput, 'id' | 'createdAt'>): Promise<Revision> {
    return this.prisma.revision.create({ data });
  }

  /** The app now runs revision `number` (undefined: nothing, after a delete). */
  setCurrentRevision(appId: string, number: number | undefined, options: { deleted?: boolean } = {}): Promise<App> {
    return this.prisma.app.update({
      where: { id: appId },
      data: { currentRevision: number ?? null, ...(options.deleted === undefined ? {} : { deletedAt: options.deleted ? new Date() : null }) },
    });
  }

  // ---------------------------------------------------------------- job runs

  createJobRun(data: Omit<Prisma.JobRunUncheckedCreateInput, 'id'>): Promise<JobRun> {
    return this.prisma.jobRun.create({ data });
  }

  nameJobRun(id: string, ref: { app: string; name: string }): Promise<JobRun> {
    return this.prisma.jobRun.update({ where: { id }, data: { nativeName: ref.name, app: ref.app } });
  }

  jobRunOf(operationId: string): Promise<JobRun> {
    return this.prisma.jobRun.findFirstOrThrow({ where: { operationId } });
  }

  recordJobStatus(id: string, status: JobStatus): Promise<JobRun> {
    return this.prisma.jobRun.update({
      where: { id },
      data: {
        status: status.state,
        succeeded: status.completions.succeeded,
        failed: status.completions.failed,
        runs: status.runs as unknown as Prisma.InputJsonValue,
      },
    });
  }

  finishJobRun(id: string, logTail: string | null, finishedAt: Date): Promise<JobRun> {
    return this.prisma.jobRun.update({ where: { id }, data: { logTail, finishedAt } });
  }
}
