import { Injectable } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import type { OperationKind, OperationStatus, Prisma } from '@berth/db';
import { BerthError } from '../common/errors.js';
import { type Principal, requestContext } from '../common/request-context.js';
import { allows } from '../auth/access.js';
import { ChangeStore, type Operation } from './change.store.js';
import type { ProgressEvent } from './operation-events.js';
import { OperationFollowers } from './operation-followers.service.js';

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

/** The operations a token may read: those on its clusters, and of its apps where a grant names one. */
function scopeOf(principal: Principal | undefined): Prisma.OperationWhereInput {
  if (!principal || principal.grants.some((g) => g.clusterId === null && g.app === null)) return {};
  return { OR: principal.grants.map((g) => ({ ...(g.clusterId ? { clusterId: g.clusterId } : {}), ...(g.app ? { app: { name: g.app } } : {}) })) };
}

/** Reading the ledger: one operation with its progress, the filtered history, and waiting for an end. */
@Injectable()
export class OperationHistory {
  constructor(
    private readonly store: ChangeStore,
    private readonly followers: OperationFollowers,
  ) {}

  isOpen(op: Operation): boolean {
    return this.store.isOpen(op.status);
  }

  async get(id: string): Promise<Operation & { progress: ProgressEvent[] }> {
    const op = UUID.test(id) ? await this.store.operationWithProgress(id) : null;
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
    return this.store.page(
      {
        ...scopeOf(requestContext.principal()),
        clusterId: filter.clusterId,
        appId: filter.appId,
        service: filter.service,
        status: filter.status,
        requester: filter.requester,
        kind: filter.kind,
        createdAt: filter.since || filter.until ? { gte: filter.since, lt: filter.until } : undefined,
      },
      page,
    );
  }

  /** History by names: cluster and app names are resolved here so both transports filter the same way. */
  async query(filter: OperationQuery, page: { cursor?: string; limit: number }): Promise<{ items: Operation[]; nextCursor?: string }> {
    let clusterId: string | undefined;
    let appId: string | undefined;
    if (filter.cluster) {
      const cluster = await this.store.clusterByRef(filter.cluster, UUID.test(filter.cluster));
      if (!cluster) throw BerthError.notFound(`cluster "${filter.cluster}"`);
      clusterId = cluster.id;
    }
    if (filter.app) {
      const apps = await this.store.appIdsByName(filter.app, clusterId);
      if (apps.length === 0) return { items: [] };
      if (apps.length > 1) throw BerthError.invalid(`app "${filter.app}" exists on several clusters: give "cluster" too`);
      appId = apps[0]!.id;
    }
    return this.list({ ...filter, clusterId, appId }, page);
  }

  /** Resolves when the operation has ended (or the bound passes): for `?wait=true`. */
  async waitFor(id: string, timeoutMs: number): Promise<Operation> {
    const deadline = Date.now() + timeoutMs;
    const local = this.followers.follower(id);
    if (local) {
      // the follower answers with the operation as it closed it: no need to read it back
      const bound = new AbortController();
      const ended = await Promise.race([local, sleep(timeoutMs, undefined, { signal: bound.signal }).catch(() => undefined)]);
      bound.abort();
      if (ended && !this.store.isOpen(ended.status)) return ended;
    }
    for (;;) {
      const op = await this.store.operation(id);
      if (!this.store.isOpen(op.status) || Date.now() >= deadline) return op;
      await sleep(250);
    }
  }
}
