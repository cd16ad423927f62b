import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { type Operation, type OperationKind, type OperationStatus, Prisma, type PrismaClient } from '@berth/db';
import { type JobRef, type JobStatus, type OrchestratorDriver, type RolloutStatus, backoff, isDriverError, DriverErrorCode } from '@berth/driver';
import { specHash } from '@berth/model';
import { asBerthError, BerthError, ErrorCode } from '../common/errors.js';
import { LOGGER } from '../common/logger.js';
import { type Principal, requestContext } from '../common/request-context.js';
import { allows } from '../auth/access.js';
import { PRISMA } from '../database/database.module.js';
import { ClusterDrivers } from '../drivers/cluster-drivers.service.js';
import { OperationEvents, type ProgressEvent } from './operation-events.js';

export type { Operation };

/** What to follow once the driver call returned, kept on the operation so a restarted gateway can continue. */
export type FollowPlan =
  | { type: 'rollouts'; app: string; services: string[] }
  | { type: 'job'; app: string; name: string; jobRunId: string }
  /** Scaling does not start a rollout: follow the replica count instead. */
  | { type: 'scale'; app: string; service: string; replicas: number }
  | { type: 'none' };

export interface Intent {
  clusterId: string;
  appId?: string;
  service?: string;
  kind: OperationKind;
  requester: string;
  idempotencyKey?: string;
  request: Record<string, unknown>;
  fromRevision?: number;
  toRevision?: number;
}

export interface OperationFilter {
  clusterId?: string;
  appId?: string;
  service?: string;
  status?: OperationStatus;
  requester?: string;
  kind?: OperationKind;
  since?: Date;
  until?: Date;
}

export interface OperationQuery extends Omit<OperationFilter, 'clusterId' | 'appId'> {
  cluster?: string;
  app?: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const OPEN: OperationStatus[] = ['pending', 'running'];
const TERMINAL_JOB = new Set(['succeeded', 'failed']);
/** How long a follower waits before trying a cluster that did not answer again. */
const RETRY_MS = 2000;
const LOG_TAIL_LINES = 50;
const SCALE_TIMEOUT_MS = 5 * 60_000;
/**
 * Followers read the orchestrator 100 ms after a change, then back off to this: a change that
 * converges at once is seen at once, a long rollout costs a read per FOLLOW_MAX_MS.
 */
const FOLLOW_MAX_MS = 500;

/** The operations a token may read: those on its clusters, and of its apps where a grant names one. */
function scopeOf(principal: Principal | undefined): Prisma.OperationWhereInput {
  if (!principal || principal.grants.some((g) => g.clusterId === null && g.app === null)) return {};
  return { OR: principal.grants.map((g) => ({ ...(g.clusterId ? { clusterId: g.clusterId } : {}), ...(g.app ? { app: { name: g.app } } : {}) })) };
}

function statusOfRollout(state: RolloutStatus['state']): OperationStatus {
  switch (state) {
    case 'completed':
    case 'none':
      return 'succeeded';
    case 'rolled-back':
      return 'rolled_back';
    case 'paused':
      return 'paused';
    case 'failed':
      return 'failed';
    case 'progressing':
    case 'rolling-back':
      return 'running';
  }
}

/** The worst of several services' outcomes is the operation's outcome. */
const SEVERITY: OperationStatus[] = ['succeeded', 'paused', 'rolled_back', 'failed'];
const worst = (a: OperationStatus, b: OperationStatus) => (SEVERITY.indexOf(a) >= SEVERITY.indexOf(b) ? a : b);

/**
 * Every change goes through here: the operation is recorded (intent) before the driver is called,
 * closed with the reason when the call fails, and otherwise followed to its end from the
 * orchestrator's own state. Open operations are picked up again when the gateway starts.
 */
@Injectable()
export class OperationsService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly followers = new Map<string, Promise<Operation>>();
  private readonly stopping = new AbortController();

  constructor(
    @Inject(PRISMA) private readonly prisma: PrismaClient,
    private readonly drivers: ClusterDrivers,
    private readonly events: OperationEvents,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /**
   * Records the intent, or returns the operation a retry with the same Idempotency-Key created.
   * Refuses (409) while another operation on the same service or app is open.
   */
  async begin(intent: Intent): Promise<{ operation: Operation; replayed: boolean }> {
    const requestHash = specHash(intent.request);
    if (intent.idempotencyKey) {
      const earlier = await this.prisma.operation.findUnique({
        where: { requester_idempotencyKey: { requester: intent.requester, idempotencyKey: intent.idempotencyKey } },
      });
      if (earlier) {
        if ((earlier.request as { hash?: string }).hash !== requestHash) {
          throw BerthError.conflict(`Idempotency-Key "${intent.idempotencyKey}" was already used for a different request (operation ${earlier.id})`, {
            operationId: earlier.id,
          });
        }
        return { operation: earlier, replayed: true };
      }
    }
    const now = new Date();
    const operation = await this.prisma.$transaction(async (tx) => {
      // one writer at a time per app, so two concurrent requests cannot both pass the check below
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${`${intent.clusterId}/${intent.appId ?? ''}`}))`;
      if (intent.appId) {
        const busy = await tx.operation.findFirst({
          where: {
            clusterId: intent.clusterId,
            appId: intent.appId,
            status: { in: OPEN },
            ...(intent.service ? { OR: [{ service: intent.service }, { service: null }] } : {}),
          },
          orderBy: { createdAt: 'asc' },
        });
        if (busy) {
          throw BerthError.conflict(
            `operation ${busy.id} (${busy.kind}${busy.service ? ` of ${busy.service}` : ''}, by ${busy.requester}) is still in progress; wait for it or follow /v1/operations/${busy.id}`,
            { operationId: busy.id },
          );
        }
      }
      return tx.operation.create({
        data: {
          clusterId: intent.clusterId,
          appId: intent.appId,
          service: intent.service,
          kind: intent.kind,
          status: 'running',
          createdAt: now,
          startedAt: now,
          requester: intent.requester,
          idempotencyKey: intent.idempotencyKey,
          request: { ...intent.request, hash: requestHash } as Prisma.InputJsonValue,
          fromRevision: intent.fromRevision,
          toRevision: intent.toRevision,
        },
      });
    });
    await this.progress(operation.id, { phase: 'started', message: `${intent.kind} requested by ${intent.requester}` });
    return { operation, replayed: false };
  }

  /** Runs the driver call of a recorded operation; a failure closes it with the reason and is rethrown. */
  async run<T>(operation: Operation, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (e) {
      const known = asBerthError(e);
      await this.close(operation.id, 'failed', { errorCode: known?.code ?? ErrorCode.Internal, error: known?.message ?? 'internal error' });
      if (known) throw new BerthError(known.code, known.message, known.details, { ...known.extra, operationId: operation.id });
      throw e;
    }
  }

  /** After a successful driver call: follow what it started, or close the operation now. */
  async afterCall(operation: Operation, plan: FollowPlan, result: Record<string, unknown> = {}): Promise<Operation> {
    const updated = await this.prisma.operation.update({
      where: { id: operation.id },
      data: { result: { ...result, follow: plan } as Prisma.InputJsonValue },
    });
    if (plan.type === 'none') return this.close(operation.id, 'succeeded');
    this.startFollower(updated, plan);
    return updated;
  }

  async get(id: string): Promise<Operation & { progress: ProgressEvent[] }> {
    const op = UUID.test(id)
      ? await this.prisma.operation.findUnique({ where: { id }, include: { progress: { orderBy: { id: 'asc' } }, app: { select: { name: true } } } })
      : null;
    const principal = requestContext.principal();
    if (!op || (principal && !allows(principal, 'read', op.clusterId, op.app?.name))) throw BerthError.notFound(`operation "${id}"`);
    return {
      ...op,
      progress: op.progress.map((p) => ({
        operationId: op.id,
        time: p.time.toISOString(),
        phase: p.phase,
        service: p.service ?? undefined,
        message: p.message ?? undefined,
        replicasUpdated: p.replicasUpdated ?? undefined,
        replicasReady: p.replicasReady ?? undefined,
        replicasTotal: p.replicasTotal ?? undefined,
        batchesDone: p.batchesDone ?? undefined,
        batchesTotal: p.batchesTotal ?? undefined,
      })),
    };
  }

  /** Newest first; `cursor` is the id of the last operation of the previous page. */
  async list(filter: OperationFilter, page: { cursor?: string; limit: number }): Promise<{ items: Operation[]; nextCursor?: string }> {
    if (page.cursor !== undefined && !UUID.test(page.cursor))
      throw BerthError.invalid('cursor: expected the nextCursor of a previous page', [{ path: 'cursor', message: 'expected an operation id' }]);
    const where: Prisma.OperationWhereInput = {
      ...scopeOf(requestContext.principal()),
      clusterId: filter.clusterId,
      appId: filter.appId,
      service: filter.service,
      status: filter.status,
      requester: filter.requester,
      kind: filter.kind,
      createdAt: filter.since || filter.until ? { gte: filter.since, lt: filter.until } : undefined,
    };
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

  /** History by names: cluster and app names are resolved here so both transports filter the same way. */
  async query(filter: OperationQuery, page: { cursor?: string; limit: number }): Promise<{ items: Operation[]; nextCursor?: string }> {
    let clusterId: string | undefined;
    let appId: string | undefined;
    if (filter.cluster) {
      const cluster = await this.prisma.cluster.findFirst({
        where: { OR: [{ name: filter.cluster }, ...(UUID.test(filter.cluster) ? [{ id: filter.cluster }] : [])] },
      });
      if (!cluster) throw BerthError.notFound(`cluster "${filter.cluster}"`);
      clusterId = cluster.id;
    }
    if (filter.app) {
      const apps = await this.prisma.app.findMany({ where: { name: filter.app, ...(clusterId ? { clusterId } : {}) }, select: { id: true } });
      if (apps.length === 0) return { items: [] };
      if (apps.length > 1) throw BerthError.invalid(`app "${filter.app}" exists on several clusters: give "cluster" too`);
      appId = apps[0]!.id;
    }
    return this.list({ ...filter, clusterId, appId }, page);
  }

  /** Resolves when the operation has ended (or the bound passes): for `?wait=true`. */
  async waitFor(id: string, timeoutMs: number): Promise<Operation> {
    const deadline = Date.now() + timeoutMs;
    const local = this.followers.get(id);
    if (local) {
      await Promise.race([local, sleep(timeoutMs)]);
    }
    for (;;) {
      const op = await this.prisma.operation.findUniqueOrThrow({ where: { id } });
      if (!OPEN.includes(op.status) || Date.now() >= deadline) return op;
      await sleep(250);
    }
  }

  isOpen(op: Operation): boolean {
    return OPEN.includes(op.status);
  }

  async onApplicationBootstrap() {
    const open = await this.prisma.operation.findMany({ where: { status: { in: OPEN } }, orderBy: { createdAt: 'asc' } });
    for (const op of open) {
      const plan = (op.result as { follow?: FollowPlan } | null)?.follow;
      if (!plan) {
        // the gateway stopped between recording the intent and hearing back from the driver:
        // what the orchestrator did is unknown, so say so instead of guessing
        await this.close(op.id, 'failed', {
          errorCode: ErrorCode.Internal,
          error: 'the gateway stopped before the orchestrator answered; check the app state and retry',
        });
        continue;
      }
      this.logger.info({ operationId: op.id, kind: op.kind }, 're-attaching to an open operation');
      await this.progress(op.id, { phase: 'reattached', message: 'gateway restarted; following the orchestrator again' });
      this.startFollower(op, plan);
    }
  }

  async onApplicationShutdown() {
    this.stopping.abort();
    await Promise.allSettled([...this.followers.values()]);
  }

  private startFollower(op: Operation, plan: FollowPlan): void {
    if (this.followers.has(op.id)) return;
    const run = this.follow(op, plan)
      .catch(async (e: unknown) => {
        if (this.stopping.signal.aborted) return op;
        this.logger.error({ operationId: op.id, err: e }, 'following the operation failed');
        return this.close(op.id, 'failed', { errorCode: ErrorCode.Internal, error: `following the operation failed: ${(e as Error).message}` });
      })
      .finally(() => this.followers.delete(op.id));
    this.followers.set(op.id, run);
  }

  private async driverOf(clusterId: string): Promise<OrchestratorDriver> {
    const cluster = await this.prisma.cluster.findUniqueOrThrow({ where: { id: clusterId } });
    return this.drivers.for(cluster);
  }

  /** Retries a read while the cluster is unreachable, keeping the operation open with the reason visible. */
  private async retrying<T>(op: Operation, read: () => Promise<T>): Promise<T | undefined> {
    let reported = false;
    while (!this.stopping.signal.aborted) {
      try {
        return await read();
      } catch (e) {
        if (!isDriverError(e, DriverErrorCode.Unreachable) && !isDriverError(e, DriverErrorCode.Timeout)) throw e;
        if (!reported) {
          await this.progress(op.id, { phase: 'waiting', message: `cluster unreachable: ${(e as Error).message}; retrying` });
          reported = true;
        }
        await sleep(RETRY_MS, undefined, { signal: this.stopping.signal }).catch(() => undefined);
      }
    }
    return undefined;
  }

  private async follow(op: Operation, plan: FollowPlan): Promise<Operation> {
    if (plan.type === 'rollouts') return this.followRollouts(op, plan);
    if (plan.type === 'job') return this.followJob(op, plan);
    if (plan.type === 'scale') return this.followScale(op, plan);
    return this.close(op.id, 'succeeded');
  }

  private async followRollouts(op: Operation, plan: Extract<FollowPlan, { type: 'rollouts' }>): Promise<Operation> {
    const driver = await this.driverOf(op.clusterId);
    let outcome: OperationStatus = 'succeeded';
    const reasons: string[] = [];
    for (const service of plan.services) {
      const ref = { app: plan.app, service };
      let last: RolloutStatus | undefined;
      const done = await this.retrying(op, async () => {
        for await (const status of driver.followRollout(ref, { signal: this.stopping.signal, pollIntervalMs: FOLLOW_MAX_MS })) {
          last = status;
          await this.progress(op.id, {
            phase: status.state,
            service,
            message: status.message,
            replicasUpdated: status.replicas.updated,
            replicasReady: status.replicas.ready,
            replicasTotal: status.replicas.desired,
            batchesDone: status.batches?.done,
            batchesTotal: status.batches?.total,
          });
        }
        return true;
      });
      if (!done || this.stopping.signal.aborted) return op;
      const status = last ? statusOfRollout(last.state) : 'succeeded';
      outcome = worst(outcome, status === 'running' ? 'failed' : status);
      if (status !== 'succeeded' && last?.message) reasons.push(`${service}: ${last.message}`);
    }
    if (outcome === 'rolled_back' && op.appId && op.fromRevision) {
      // the orchestrator went back to what ran before: so does the app's current revision
      await this.prisma.app.update({ where: { id: op.appId }, data: { currentRevision: op.fromRevision } });
    }
    return this.close(op.id, outcome, {
      error: reasons.length ? reasons.join('; ') : undefined,
      errorCode: outcome === 'succeeded' ? undefined : outcome === 'rolled_back' ? 'ROLLED_BACK' : outcome === 'paused' ? 'PAUSED' : 'ROLLOUT_FAILED',
      result: outcome === 'rolled_back' && op.fromRevision ? { restoredRevision: op.fromRevision } : undefined,
    });
  }

  private async followJob(op: Operation, plan: Extract<FollowPlan, { type: 'job' }>): Promise<Operation> {
    const driver = await this.driverOf(op.clusterId);
    const ref: JobRef = { app: plan.app, name: plan.name };
    const waits = backoff(undefined, FOLLOW_MAX_MS);
    let last = '';
    for (;;) {
      const status = await this.retrying(op, () => driver.jobStatus(ref));
      if (!status) return op;
      const key = JSON.stringify([status.state, status.completions]);
      if (key !== last) {
        last = key;
        waits.reset();
        await this.recordJob(plan.jobRunId, status);
        await this.progress(op.id, {
          phase: status.state,
          message: status.message,
          replicasUpdated: status.completions.succeeded,
          replicasReady: status.completions.active,
          replicasTotal: status.completions.desired,
        });
      }
      if (TERMINAL_JOB.has(status.state)) {
        const tail = await this.logTail(driver, ref);
        await this.prisma.jobRun.update({
          where: { id: plan.jobRunId },
          data: { logTail: tail, finishedAt: status.completedAt ? new Date(status.completedAt) : new Date() },
        });
        return this.close(op.id, status.state === 'succeeded' ? 'succeeded' : 'failed', {
          error: status.state === 'failed' ? (status.message ?? 'the job failed') : undefined,
          errorCode: status.state === 'failed' ? 'JOB_FAILED' : undefined,
        });
      }
      await sleep(waits.next(), undefined, { signal: this.stopping.signal }).catch(() => undefined);
      if (this.stopping.signal.aborted) return op;
    }
  }

  private async followScale(op: Operation, plan: Extract<FollowPlan, { type: 'scale' }>): Promise<Operation> {
    const driver = await this.driverOf(op.clusterId);
    const deadline = Date.now() + SCALE_TIMEOUT_MS;
    const waits = backoff(undefined, FOLLOW_MAX_MS);
    let last = '';
    while (Date.now() < deadline) {
      const status = await this.retrying(op, () => driver.getService({ app: plan.app, service: plan.service }));
      if (!status) return op;
      const key = `${status.replicas.running}/${status.replicas.desired}`;
      if (key !== last) {
        last = key;
        waits.reset();
        await this.progress(op.id, { phase: 'scaling', service: plan.service, replicasReady: status.replicas.running, replicasTotal: plan.replicas });
      }
      if (status.replicas.running === plan.replicas) return this.close(op.id, 'succeeded');
      await sleep(waits.next(), undefined, { signal: this.stopping.signal }).catch(() => undefined);
      if (this.stopping.signal.aborted) return op;
    }
    return this.close(op.id, 'failed', {
      errorCode: 'SCALE_TIMEOUT',
      error: `${plan.service} did not reach ${plan.replicas} running replicas within ${SCALE_TIMEOUT_MS / 1000} s (last ${last})`,
    });
  }

  private async recordJob(jobRunId: string, status: JobStatus) {
    await this.prisma.jobRun.update({
      where: { id: jobRunId },
      data: {
        status: status.state,
        succeeded: status.completions.succeeded,
        failed: status.completions.failed,
        runs: status.runs as unknown as Prisma.InputJsonValue,
      },
    });
  }

  private async logTail(driver: OrchestratorDriver, ref: JobRef): Promise<string | null> {
    try {
      const lines: string[] = [];
      for await (const l of driver.logs(ref, { tail: LOG_TAIL_LINES, signal: AbortSignal.timeout(10_000) })) lines.push(`${l.replica} ${l.line}`);
      return lines.slice(-LOG_TAIL_LINES).join('\n') || null;
    } catch {
      return null;
    }
  }

  async progress(operationId: string, event: Omit<ProgressEvent, 'operationId' | 'time'>): Promise<void> {
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
    this.events.publish({ operationId, time: row.time.toISOString(), ...event });
  }

  async close(id: string, status: OperationStatus, extra: { error?: string; errorCode?: string; result?: Record<string, unknown> } = {}): Promise<Operation> {
    const current = await this.prisma.operation.findUniqueOrThrow({ where: { id } });
    const op = await this.prisma.operation.update({
      where: { id },
      data: {
        status,
        finishedAt: new Date(),
        error: extra.error ?? null,
        errorCode: extra.errorCode ?? null,
        ...(extra.result ? { result: { ...((current.result as object | null) ?? {}), ...extra.result } as Prisma.InputJsonValue } : {}),
      },
    });
    await this.progress(id, { phase: 'finished', message: extra.error ?? status, final: status });
    this.logger.info({ operationId: id, kind: op.kind, status, error: extra.error }, 'operation finished');
    return op;
  }
}
