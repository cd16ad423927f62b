import type { OrchestratorDriver } from '@berth/driver';
import type { ChangeStore, Operation } from '../change.store.js';
import type { OperationLedger } from '../operation-ledger.service.js';

/** What to follow once the driver call returned, kept on the operation so a restarted gateway can continue. */
export type FollowPlan =
  | { type: 'rollouts'; app: string; services: string[] }
  | { type: 'job'; app: string; name: string; jobRunId: string }
  /** Scaling does not start a rollout: follow the replica count instead. */
  | { type: 'scale'; app: string; service: string; replicas: number }
  | { type: 'none' };

/** What a follower works with: the operation, its cluster's driver, the ledger, and the shutdown signal. */
export interface FollowContext {
  op: Operation;
  driver: OrchestratorDriver;
  ledger: OperationLedger;
  store: ChangeStore;
  signal: AbortSignal;
  /** Retries a read while the cluster is unreachable, keeping the operation open with the reason visible; undefined on shutdown. */
  retrying<T>(read: () => Promise<T>): Promise<T | undefined>;
}

/**
 * Followers read the orchestrator 100 ms after a change, then back off to this: a change that
 * converges at once is seen at once, a long rollout costs a read per FOLLOW_MAX_MS.
 */
export const FOLLOW_MAX_MS = 500;
