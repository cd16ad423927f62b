import { setTimeout as sleep } from 'node:timers/promises';
import { type JobRef, type OrchestratorDriver, backoff } from '@berth/driver';
import { OutcomeCode } from '../operation-outcome.js';
import { FOLLOW_MAX_MS, type FollowContext, type FollowPlan } from './follow-context.js';

const TERMINAL_JOB = new Set(['succeeded', 'failed']);
const LOG_TAIL_LINES = 50;

async function logTail(driver: OrchestratorDriver, ref: JobRef): Promise<string | null> {
  try {
    const lines: string[] = [];
    for await (const l of driver.logs(ref, { tail: LOG_TAIL_LINES, signal: AbortSignal.timeout(10_000) })) lines.push(`${l.replica} ${l.line}`);
    return lines.slice(-LOG_TAIL_LINES).join('\n') || null;
  } catch {
    return null;
  }
}

/** Follows a job to its end, keeping its runs and exit codes on the job run, and its log tail at the end. */
export async function followJob(ctx: FollowContext, plan: Extract<FollowPlan, { type: 'job' }>) {
  const { op, driver, ledger, store } = ctx;
  const ref: JobRef = { app: plan.app, name: plan.name };
  const waits = backoff(undefined, FOLLOW_MAX_MS);
  let last = '';
  for (;;) {
    const status = await ctx.retrying(() => driver.jobStatus(ref));
    if (!status) return op;
    const key = JSON.stringify([status.state, status.completions]);
    if (key !== last) {
      last = key;
      waits.reset();
      await store.recordJobStatus(plan.jobRunId, status);
      await ledger.progress(op.id, {
        phase: status.state,
        message: status.message,
        replicasUpdated: status.completions.succeeded,
        replicasReady: status.completions.active,
        replicasTotal: status.completions.desired,
      });
    }
    if (TERMINAL_JOB.has(status.state)) {
      await store.finishJobRun(plan.jobRunId, await logTail(driver, ref), status.completedAt ? new Date(status.completedAt) : new Date());
      return ledger.close(op.id, status.state === 'succeeded' ? 'succeeded' : 'failed', {
        error: status.state === 'failed' ? (status.message ?? 'the job failed') : undefined,
        errorCode: status.state === 'failed' ? OutcomeCode.JobFailed : undefined,
      });
    }
    await sleep(waits.next(), undefined, { signal: ctx.signal }).catch(() => undefined);
    if (ctx.signal.aborted) return op;
  }
}
