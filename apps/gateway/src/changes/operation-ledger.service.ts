import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import type { OperationKind, OperationStatus, Prisma } from '@berth/db';
import { specHash } from '@berth/model';
import { asBerthError, BerthError, ErrorCode } from '../common/errors.js';
import { LOGGER } from '../common/logger.js';
import { ChangeStore, type Operation } from './change.store.js';
import { OperationEvents, type ProgressEvent } from './operation-events.js';
import { RecentChanges } from './recent-changes.js';
import type { OutcomeCode } from './operation-outcome.js';

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

export interface Closing {
  error?: string;
  errorCode?: OutcomeCode;
  result?: Record<string, unknown>;
}

/**
 * The record of every change: the operation is written (intent) before the orchestrator is called,
 * each step of its progress is kept and published, and it is closed with its outcome and reason.
 */
@Injectable()
export class OperationLedger {
  constructor(
    private readonly store: ChangeStore,
    private readonly events: OperationEvents,
    private readonly recent: RecentChanges,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /** The operation an earlier request with this key created, if any. */
  async earlier(requester: string, idempotencyKey: string | undefined): Promise<Operation | undefined> {
    return idempotencyKey ? ((await this.store.byIdempotencyKey(requester, idempotencyKey)) ?? undefined) : undefined;
  }

  /**
   * Records the intent, or returns the operation a retry with the same Idempotency-Key created
   * (409 when that key was used for another request). Refuses (409) while another operation on the
   * same service or app is open.
   */
  async begin(intent: Intent): Promise<{ operation: Operation; replayed: boolean }> {
    const requestHash = specHash(intent.request);
    const earlier = await this.earlier(intent.requester, intent.idempotencyKey);
    if (earlier) {
      if ((earlier.request as { hash?: string }).hash !== requestHash) {
        throw BerthError.conflict(`Idempotency-Key "${intent.idempotencyKey}" was already used for a different request (operation ${earlier.id})`, {
          operationId: earlier.id,
        });
      }
      return { operation: earlier, replayed: true };
    }
    const outcome = await this.store.createUnlessBusy({ ...intent, request: { ...intent.request, hash: requestHash } as Prisma.InputJsonValue });
    if ('busy' in outcome) {
      const busy = outcome.busy;
      throw BerthError.conflict(
        `operation ${busy.id} (${busy.kind}${busy.service ? ` of ${busy.service}` : ''}, by ${busy.requester}) is still in progress; wait for it or follow /v1/operations/${busy.id}`,
        { operationId: busy.id },
      );
    }
    this.recent.begin(outcome.created.appId, outcome.created.id);
    await this.progress(outcome.created.id, { phase: 'started', message: `${intent.kind} requested by ${intent.requester}` });
    return { operation: outcome.created, replayed: false };
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

  async progress(operationId: string, event: Omit<ProgressEvent, 'operationId' | 'time'>): Promise<void> {
    const time = await this.store.addProgress(operationId, event);
    this.events.publish({ operationId, time: time.toISOString(), ...event });
  }

  async close(id: string, status: OperationStatus, extra: Closing = {}): Promise<Operation> {
    const op = await this.store.finish(id, status, extra);
    this.recent.end(op.appId, id);
    await this.progress(id, { phase: 'finished', message: extra.error ?? status, final: status });
    this.logger.info({ operationId: id, kind: op.kind, status, error: extra.error }, 'operation finished');
    return op;
  }
}
