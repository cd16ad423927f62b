import { z } from 'zod';
import { Resources, UpdatePolicyPatch } from '@berth/model';

/** The bodies of the change requests that REST and GraphQL share. */
export const ScaleRequest = z.strictObject({
  replicas: z.number().int('expected a whole number of replicas').min(0).max(10_000),
});

export const UpdateServiceRequest = z.strictObject({
  image: z.string().min(1).optional(),
  command: z.array(z.string()).optional(),
  env: z.record(z.string(), z.string()).optional().describe('replaces the environment'),
  resources: Resources.optional(),
  replicas: z.number().int().min(0).max(10_000).optional(),
  /** Overrides fields of the service's update policy for this and later rollouts. */
  update: UpdatePolicyPatch.optional(),
  /** The revision the caller based the change on; refused with 409 when the app has moved on. */
  expectedRevision: z.number().int().min(1).optional(),
  /** Apply even when the app moved on or the service was changed outside Berth. */
  force: z.boolean().default(false),
});

export const RollbackRequest = z.strictObject({
  /** Revision to go back to; the one before the current by default. */
  revision: z.number().int().min(1).optional(),
});
