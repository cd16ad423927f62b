import type { OperationStatus } from '@berth/db';
import type { RolloutStatus } from '@berth/driver';
import { OutcomeCode } from '../operation-outcome.js';
import { FOLLOW_MAX_MS, type FollowContext, type FollowPlan } from './follow-context.js';

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
 * Follows the rollout of each service the change started, one after the other, from the
 * orchestrator's own state, recording every step; the operation ends with the worst outcome.
 */
export async function followRollouts(ctx: FollowContext, plan: Extract<FollowPlan, { type: 'rollouts' }>) {
  const { op, driver, ledger } = ctx;
  let outcome: OperationStatus = 'succeeded';
  const reasons: string[] = [];
  for (const service of plan.services) {
    const ref = { app: plan.app, service };
    let last: RolloutStatus | undefined;
    const done = await ctx.retrying(async () => {
      for await (const status of driver.followRollout(ref, { signal: ctx.signal, pollIntervalMs: FOLLOW_MAX_MS })) {
        last = status;
        await ledger.progress(op.id, {
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
    if (!done || ctx.signal.aborted) return op;
    const status = last ? statusOfRollout(last.state) : 'succeeded';
    outcome = worst(outcome, status === 'running' ? 'failed' : status);
    if (status !== 'succeeded' && last?.message) reasons.push(`${service}: ${last.message}`);
  }
  if (outcome === 'rolled_back' && op.appId && op.fromRevision) {
    // the orchestrator went back to what ran before: so does the app's current revision
    await ctx.store.setCurrentRevision(op.appId, op.fromRevision);
  }
  return ledger.close(op.id, outcome, {
    error: reasons.length ? reasons.join('; ') : undefined,
    errorCode:
      outcome === 'succeeded'
        ? undefined
        : outcome === 'rolled_back'
          ? OutcomeCode.RolledBack
          : outcome === 'paused'
            ? OutcomeCode.Paused
            : OutcomeCode.RolloutFailed,
    result: outcome === 'rolled_back' && op.fromRevision ? { restoredRevision: op.fromRevision } : undefined,
  });
}
