import { Injectable } from '@nestjs/common';
import type { App, Cluster, Prisma, Revision, RevisionSource } from '@berth/db';
import { type AppSpec, type ComposeWarning, specHash } from '@berth/model';
import type { Caller } from '../common/caller.js';
import { ChangeStore, type Operation } from './change.store.js';
import { type Intent, OperationLedger } from './operation-ledger.service.js';
import { OperationFollowers } from './operation-followers.service.js';
import { OperationHistory } from './operation-history.service.js';
import { type OperationView, operationView } from './operation.views.js';
import type { FollowPlan } from './followers/follow-context.js';

/** Bound for `?wait=true`; past it the answer is the still-running operation. */
export const WAIT_MS = 10 * 60_000;

export interface ChangeResult {
  /** False when the cluster already runs this spec: no revision, no operation. */
  changed: boolean;
  message: string;
  revision?: number;
  operation?: OperationView;
  warnings: ComposeWarning[];
}

/** The app a change applies to, as it stands before the change. */
export interface AppTarget {
  cluster: Cluster;
  app: App;
  current?: Revision;
}

/** A change of an app's spec: the pipeline records it as a revision when the spec changes. */
export interface AppChange {
  kind: Intent['kind'];
  service?: string;
  requestBody: Record<string, unknown>;
  next: AppSpec;
  source: RevisionSource;
  warnings?: ComposeWarning[];
  message?: string;
  /** The driver call; names the services whose rollout it started (or asks to follow a scale). */
  call: () => Promise<{ services: string[]; result?: Record<string, unknown>; follow?: 'scale' }>;
}

/**
 * Every change goes through here, in one order: replay a retried request, record the operation
 * (intent) and the revision, call the driver, then follow what it started to its end. Apps,
 * services, jobs and volumes say what to change; this decides how it is recorded.
 */
@Injectable()
export class ChangePipeline {
  constructor(
    private readonly store: ChangeStore,
    private readonly ledger: OperationLedger,
    private readonly followers: OperationFollowers,
    private readonly history: OperationHistory,
  ) {}

  /** The answer to a retried request (same requester and Idempotency-Key), before any work is done. */
  async replay(caller: Caller): Promise<ChangeResult | undefined> {
    const earlier = await this.ledger.earlier(caller.requester, caller.idempotencyKey);
    return earlier ? this.resultOf(earlier, [], caller) : undefined;
  }

  /** A change to an app: a new revision when the spec changes, an operation, the driver call, the follower. */
  async changeApp(target: AppTarget, change: AppChange, caller: Caller): Promise<ChangeResult> {
    const hash = specHash(change.next);
    const newRevision = !target.current || target.current.specHash !== hash || !!target.app.deletedAt;
    const { operation, replayed } = await this.ledger.begin({
      clusterId: target.cluster.id,
      appId: target.app.id,
      service: change.service,
      kind: change.kind,
      requester: caller.requester,
      idempotencyKey: caller.idempotencyKey,
      request: change.requestBody,
      fromRevision: target.current?.number,
    });
    if (replayed) return this.resultOf(operation, change.warnings ?? [], caller);
    let revision = target.current?.number;
    // a failure here closes the operation with its reason, as a failed driver call does: an open one would block the app
    await this.ledger.run(operation, async () => {
      if (newRevision) {
        // numbers only grow, also after a delete and re-create of the app
        revision = await this.store.nextRevisionNumber(target.app.id);
        await this.store.createRevision({
          appId: target.app.id,
          number: revision,
          spec: change.next as unknown as Prisma.InputJsonValue,
          specHash: hash,
          source: change.source,
          author: caller.requester,
          message: change.message,
          warnings: (change.warnings ?? []) as unknown as Prisma.InputJsonValue,
        });
      }
      await this.store.setTarget(operation.id, revision);
    });
    const outcome = await this.ledger.run(operation, change.call);
    await this.store.setCurrentRevision(target.app.id, revision, { deleted: false });
    const plan: FollowPlan =
      outcome.follow === 'scale'
        ? { type: 'scale', app: target.app.name, service: change.service!, replicas: change.next.services[change.service!]!.replicas }
        : outcome.services.length
          ? { type: 'rollouts', app: target.app.name, services: outcome.services }
          : { type: 'none' };
    const followed = await this.followers.start({ ...operation, toRevision: revision ?? null }, plan, outcome.result);
    return this.resultOf(followed, change.warnings ?? [], caller, change.message, target.app.name);
  }

  /**
   * A change that makes no revision (a job, a volume, removing an app): record, call, follow.
   * `call` answers with what to follow and what to keep on the operation; a replayed request
   * answers with the operation the first one created, without calling again.
   */
  async execute<T>(
    intent: Omit<Intent, 'requester' | 'idempotencyKey'>,
    caller: Caller,
    call: (operation: Operation) => Promise<{ value: T; follow: FollowPlan; result?: Record<string, unknown> }>,
  ): Promise<{ operation: Operation; replayed: boolean; value?: T }> {
    const { operation, replayed } = await this.ledger.begin({ ...intent, requester: caller.requester, idempotencyKey: caller.idempotencyKey });
    if (replayed) return { operation: await this.finalOf(operation, caller), replayed };
    const { value, follow, result } = await this.ledger.run(operation, () => call(operation));
    const followed = await this.followers.start(operation, follow, result);
    return { operation: await this.finalOf(followed, caller), replayed, value };
  }

  /** The operation as the caller asked for it: at once, or once it has ended (bounded). */
  finalOf(op: Operation, caller: Caller): Promise<Operation> {
    return caller.wait && this.history.isOpen(op) ? this.history.waitFor(op.id, WAIT_MS) : Promise.resolve(op);
  }

  /** The answer to a change; `appName` is the name of the operation's app when the caller has it at hand. */
  async resultOf(op: Operation, warnings: ComposeWarning[], caller: Caller, message?: string, appName?: string): Promise<ChangeResult> {
    const final = await this.finalOf(op, caller);
    const app = final.appId ? (appName ?? (await this.store.appName(final.appId))) : undefined;
    return {
      changed: true,
      message: message ?? `${final.kind} ${final.status}`,
      revision: final.toRevision ?? undefined,
      operation: operationView(final, app),
      warnings,
    };
  }
}
