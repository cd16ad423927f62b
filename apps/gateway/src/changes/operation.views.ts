import { z } from 'zod';
import { type OutcomeCode, OutcomeCodeSchema } from './operation-outcome.js';
import type { Operation } from '@berth/db';

export const OperationStatusSchema = z.enum(['pending', 'running', 'succeeded', 'failed', 'rolled_back', 'paused', 'cancelled']);
export const OperationKindSchema = z.enum([
  'apply',
  'delete',
  'scale',
  'update',
  'rollback',
  'job',
  'volume_create',
  'volume_remove',
  'cluster_register',
  'cluster_update',
  'cluster_remove',
]);

export const ProgressSchema = z.object({
  time: z.string(),
  phase: z.string().describe('started, progressing, completed, rolling-back, rolled-back, paused, failed, scaling, waiting, reattached, finished'),
  service: z.string().optional().describe('the service a rollout phase is about'),
  message: z.string().optional(),
  replicasUpdated: z.number().int().optional(),
  replicasReady: z.number().int().optional(),
  replicasTotal: z.number().int().optional(),
  batchesDone: z.number().int().optional(),
  batchesTotal: z.number().int().optional(),
});

export const OperationViewSchema = z.object({
  id: z.uuid(),
  kind: OperationKindSchema,
  status: OperationStatusSchema,
  clusterId: z.uuid(),
  app: z.string().optional(),
  service: z.string().optional(),
  requester: z.string(),
  idempotencyKey: z.string().optional(),
  fromRevision: z.number().int().optional().describe('revision that ran before'),
  toRevision: z.number().int().optional().describe('revision this operation deploys'),
  errorCode: OutcomeCodeSchema.optional(),
  error: z.string().optional().describe('why it failed, rolled back or paused'),
  result: z.record(z.string(), z.unknown()).optional(),
  createdAt: z.string(),
  startedAt: z.string().optional(),
  finishedAt: z.string().optional(),
  progress: z.array(ProgressSchema).optional(),
});
export type OperationView = z.output<typeof OperationViewSchema>;

type OperationRow = Operation & { app?: { name: string } | null; progress?: z.output<typeof ProgressSchema>[] };

const opt = <T>(v: T | null | undefined): T | undefined => (v === null ? undefined : v);

export function operationView(op: OperationRow, appName?: string): OperationView {
  const { follow: _follow, ...result } = (op.result as Record<string, unknown> | null) ?? {};
  return {
    id: op.id,
    kind: op.kind,
    status: op.status,
    clusterId: op.clusterId,
    app: appName ?? op.app?.name,
    service: opt(op.service),
    requester: op.requester,
    idempotencyKey: opt(op.idempotencyKey),
    fromRevision: opt(op.fromRevision),
    toRevision: opt(op.toRevision),
    errorCode: opt(op.errorCode) as OutcomeCode | undefined,
    error: opt(op.error),
    result: op.result ? result : undefined,
    createdAt: op.createdAt.toISOString(),
    startedAt: op.startedAt?.toISOString(),
    finishedAt: op.finishedAt?.toISOString(),
    ...(op.progress ? { progress: op.progress.map(({ ...p }) => p) } : {}),
  };
}
