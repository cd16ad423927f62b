import { setTimeout as sleep } from 'node:timers/promises';
import { backoff } from '@berth/driver';
import { OutcomeCode } from '../operation-outcome.js';
import { FOLLOW_MAX_MS, type FollowContext, type FollowPlan } from './follow-context.js';

const SCALE_TIMEOUT_MS = 5 * 60_000;

/** Follows a scale to the asked number of running replicas, or fails it after SCALE_TIMEOUT_MS. */
export async function followScale(ctx: FollowContext, plan: Extract<FollowPlan, { type: 'scale' }>) {
  const { op, driver, ledger } = ctx;
  const deadline = Date.now() + SCALE_TIMEOUT_MS;
  const waits = backoff(undefined, FOLLOW_MAX_MS);
  let last = '';
  while (Date.now() < deadline) {
    const status = await ctx.retrying(() => driver.getService({ app: plan.app, service: plan.service }));
    if (!status) return op;
    const key = `${status.replicas.running}/${status.replicas.desired}`;
    if (key !== last) {
      last = key;
      waits.reset();
      await ledger.progress(op.id, { phase: 'scaling', service: plan.service, replicasReady: status.replicas.running, replicasTotal: plan.replicas });
    }
    if (status.replicas.running === plan.replicas) return ledger.close(op.id, 'succeeded');
    await sleep(waits.next(), undefined, { signal: ctx.signal }).catch(() => undefined);
    if (ctx.signal.aborted) return op;
  }
  return ledger.close(op.id, 'failed', {
    errorCode: OutcomeCode.ScaleTimeout,
    error: `${plan.service} did not reach ${plan.replicas} running replicas within ${SCALE_TIMEOUT_MS / 1000} s (last ${last})`,
  });
}
