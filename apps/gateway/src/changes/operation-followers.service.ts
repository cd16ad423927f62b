import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { DriverErrorCode, isDriverError } from '@berth/driver';
import { ErrorCode } from '../common/errors.js';
import { LOGGER } from '../common/logger.js';
import { ClusterDrivers } from '../drivers/cluster-drivers.service.js';
import { ChangeStore, type Operation } from './change.store.js';
import { OperationLedger } from './operation-ledger.service.js';
import type { FollowContext, FollowPlan } from './followers/follow-context.js';
import { followJob } from './followers/job.follower.js';
import { followRollouts } from './followers/rollout.follower.js';
import { followScale } from './followers/scale.follower.js';

/** How long a follower waits before trying a cluster that did not answer again. */
const RETRY_MS = 2000;

/**
 * Follows every open operation to its end from the orchestrator's own state, and closes it. The
 * plan of what to follow is kept on the operation, so a gateway that starts picks up every
 * operation still open where the last one left it.
 */
@Injectable()
export class OperationFollowers implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly running = new Map<string, Promise<Operation>>();
  private readonly stopping = new AbortController();

  constructor(
    private readonly store: ChangeStore,
    private readonly ledger: OperationLedger,
    private readonly drivers: ClusterDrivers,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /** The follower of operation `id` in this gateway, while it runs. */
  follower(id: string): Promise<Operation> | undefined {
    return this.running.get(id);
  }

  /** Keeps the plan on the operation, then follows it (or closes the operation when there is nothing to follow). */
  async start(operation: Operation, plan: FollowPlan, result: Record<string, unknown> = {}): Promise<Operation> {
    const updated = await this.store.setResult(operation.id, { ...result, follow: plan });
    if (plan.type === 'none') return this.ledger.close(operation.id, 'succeeded');
    this.spawn(updated, plan);
    return updated;
  }

  async onApplicationBootstrap() {
    for (const op of await this.store.openOperations()) {
      const plan = (op.result as { follow?: FollowPlan } | null)?.follow;
      if (!plan) {
        // the gateway stopped between recording the intent and hearing back from the driver:
        // what the orchestrator did is unknown, so say so instead of guessing
        await this.ledger.close(op.id, 'failed', {
          errorCode: ErrorCode.Internal,
          error: 'the gateway stopped before the orchestrator answered; check the app state and retry',
        });
        continue;
      }
      this.logger.info({ operationId: op.id, kind: op.kind }, 're-attaching to an open operation');
      await this.ledger.progress(op.id, { phase: 'reattached', message: 'gateway restarted; following the orchestrator again' });
      this.spawn(op, plan);
    }
  }

  async onApplicationShutdown() {
    this.stopping.abort();
    await Promise.allSettled([...this.running.values()]);
  }

  private spawn(op: Operation, plan: FollowPlan): void {
    if (this.running.has(op.id)) return;
    const run = this.follow(op, plan)
      .catch(async (e: unknown) => {
        if (this.stopping.signal.aborted) return op;
        this.logger.error({ operationId: op.id, err: e }, 'following the operation failed');
        return this.ledger.close(op.id, 'failed', { errorCode: ErrorCode.Internal, error: `following the operation failed: ${(e as Error).message}` });
      })
      .finally(() => this.running.delete(op.id));
    this.running.set(op.id, run);
  }

  private async follow(op: Operation, plan: FollowPlan): Promise<Operation> {
    const ctx: FollowContext = {
      op,
      driver: this.drivers.for(await this.store.cluster(op.clusterId)),
      ledger: this.ledger,
      store: this.store,
      signal: this.stopping.signal,
      retrying: (read) => this.retrying(op, read),
    };
    switch (plan.type) {
      case 'rollouts':
        return followRollouts(ctx, plan);
      case 'job':
        return followJob(ctx, plan);
      case 'scale':
        return followScale(ctx, plan);
      case 'none':
        return this.ledger.close(op.id, 'succeeded');
    }
  }

  private async retrying<T>(op: Operation, read: () => Promise<T>): Promise<T | undefined> {
    let reported = false;
    while (!this.stopping.signal.aborted) {
      try {
        return await read();
      } catch (e) {
        if (!isDriverError(e, DriverErrorCode.Unreachable) && !isDriverError(e, DriverErrorCode.Timeout)) throw e;
        if (!reported) {
          await this.ledger.progress(op.id, { phase: 'waiting', message: `cluster unreachable: ${(e as Error).message}; retrying` });
          reported = true;
        }
        await sleep(RETRY_MS, undefined, { signal: this.stopping.signal }).catch(() => undefined);
      }
    }
    return undefined;
  }
}
