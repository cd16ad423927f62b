/**
 * Batches of a rollout, from the policy's parallelism: `parallelism` replicas per batch (0: all at
 * once, one batch), and a batch counts as done once all its replicas are updated. Both drivers and
 * the in-memory one report progress with this arithmetic.
 */
export function rolloutBatches(parallelism: number, desired: number, updated: number, complete: boolean): { done: number; total: number } {
  const total = parallelism === 0 ? 1 : Math.max(1, Math.ceil(desired / parallelism));
  if (complete || updated >= desired) return { done: total, total };
  return { done: parallelism === 0 ? 0 : Math.min(total, Math.floor(updated / parallelism)), total };
}
