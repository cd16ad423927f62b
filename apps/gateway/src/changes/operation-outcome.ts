import { registerEnumType } from '@nestjs/graphql';
import { z } from 'zod';
import { ErrorCode } from '../common/errors.js';

/**
 * Why an operation did not end `succeeded`: the API's error code when the orchestrator refused the
 * call (INVALID, CLUSTER_UNREACHABLE, ...), or how the orchestrator's own work ended.
 */
export const OutcomeCode = {
  ...ErrorCode,
  /** The rollout failed and went back to what ran before (failureAction rollback). */
  RolledBack: 'ROLLED_BACK',
  /** The rollout failed and stopped where it was (failureAction pause); a person decides. */
  Paused: 'PAUSED',
  /** The rollout failed and was neither rolled back nor paused. */
  RolloutFailed: 'ROLLOUT_FAILED',
  /** The job ended with failed runs (a non-zero exit code, or too many retries). */
  JobFailed: 'JOB_FAILED',
  /** The service did not reach the asked number of running replicas in time. */
  ScaleTimeout: 'SCALE_TIMEOUT',
} as const;
export type OutcomeCode = (typeof OutcomeCode)[keyof typeof OutcomeCode];

const DESCRIPTIONS: Record<OutcomeCode, string> = {
  NOT_FOUND: 'the orchestrator no longer has what the operation changes',
  CONFLICT: 'the orchestrator refused the change as conflicting',
  INVALID: 'the orchestrator refused the spec',
  UNAUTHENTICATED: 'the caller was not authenticated',
  FORBIDDEN: 'the caller may not do this',
  PAYLOAD_TOO_LARGE: 'the request was too large',
  RATE_LIMITED: 'too many requests',
  CLUSTER_UNREACHABLE: 'the cluster could not be reached',
  CLUSTER_UNAUTHORIZED: "the cluster refused Berth's credentials",
  UNSUPPORTED: 'the orchestrator cannot do what was asked',
  TIMEOUT: 'the orchestrator did not answer in time',
  INTERNAL: 'an error inside the gateway (see its log under the correlation id)',
  ROLLED_BACK: 'the rollout failed and went back to what ran before (failureAction rollback)',
  PAUSED: 'the rollout failed and stopped where it was (failureAction pause)',
  ROLLOUT_FAILED: 'the rollout failed and was neither rolled back nor paused',
  JOB_FAILED: 'the job ended with failed runs',
  SCALE_TIMEOUT: 'the service did not reach the asked number of running replicas in time',
};

const values = Object.values(OutcomeCode) as [OutcomeCode, ...OutcomeCode[]];

/** The same list for the OpenAPI document. */
export const OutcomeCodeSchema = z.enum(values).describe(`Why the operation did not succeed: ${values.map((v) => `${v} (${DESCRIPTIONS[v]})`).join('; ')}`);

/** The same codes as a GraphQL enum: its value names are the codes themselves (ROLLED_BACK), as on REST. */
export const OutcomeCodeGraphql: Record<OutcomeCode, OutcomeCode> = Object.fromEntries(values.map((v) => [v, v])) as Record<OutcomeCode, OutcomeCode>;

registerEnumType(OutcomeCodeGraphql, {
  name: 'OperationOutcomeCode',
  description: 'Why an operation did not succeed: an error code of the API when the orchestrator refused the call, or how its work ended',
  valuesMap: Object.fromEntries(values.map((v) => [v, { description: DESCRIPTIONS[v] }])),
});
