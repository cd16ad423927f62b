import { z } from 'zod';
import { AppSpec } from '@berth/model';
import { OperationViewSchema } from '../changes/operation.views.js';
import { ComposeReportSchema } from '../compose/compose.schemas.js';
import { ObservationSchema } from '../common/read-consistency.js';

const Warning = z.object({ path: z.string(), message: z.string() });

export const ChangeResultSchema = z.object({
  changed: z.boolean().describe('false: the cluster already runs this; no revision and no operation were made'),
  message: z.string(),
  revision: z.number().int().optional(),
  operation: OperationViewSchema.optional(),
  warnings: z.array(Warning).describe('what a Compose import could not carry'),
  report: ComposeReportSchema.optional().describe('for a Compose file: the conversion report'),
});

export const PlanSchema = z.object({
  app: z.string(),
  changed: z.boolean(),
  objects: z.array(
    z.object({
      action: z.enum(['create', 'update', 'delete', 'unchanged']),
      kind: z.string(),
      name: z.string(),
      service: z.string().optional(),
      changes: z.array(z.object({ path: z.string(), from: z.unknown().optional(), to: z.unknown().optional() })),
      object: z.unknown().optional().describe('the native object as it would be written'),
    }),
  ),
  warnings: z.array(Warning).describe('where the orchestrator cannot honour a field exactly'),
  importWarnings: z.array(Warning),
  report: ComposeReportSchema.optional().describe(
    "for a Compose file: the conversion report, with this cluster's orchestrator's own notes at the Compose keys (orchestrators.swarm or orchestrators.kubernetes)",
  ),
  policy: z
    .object({
      allowed: z.boolean().describe('an apply of this spec by this token would pass the workload policy'),
      bypass: z.boolean().describe('it passes only because the token is an admin of the cluster (audited)'),
      violations: z.array(z.object({ path: z.string(), rule: z.string(), message: z.string() })),
    })
    .describe("what the cluster's workload policy would refuse"),
});

export const AppViewSchema = z.object({
  name: z.string(),
  cluster: z.string(),
  currentRevision: z.number().int().optional(),
  createdAt: z.string(),
  updatedAt: z.string(),
  deleted: z.boolean(),
  spec: AppSpec.optional(),
  services: z
    .array(
      z.object({
        service: z.string(),
        desired: z.object({ image: z.string(), replicas: z.number(), mode: z.string() }).optional(),
        actual: z.object({ image: z.string(), replicas: z.record(z.string(), z.number()), rollout: z.string() }).optional(),
        inSync: z.boolean(),
      }),
    )
    .optional(),
  observed: ObservationSchema.optional().describe('where the actual state came from and how old it is (the oldest of its services)'),
});

export const RevisionViewSchema = z.object({
  number: z.number().int(),
  specHash: z.string(),
  source: z.enum(['api', 'compose', 'rollback', 'update', 'scale']),
  author: z.string(),
  message: z.string().optional(),
  warnings: z.array(Warning),
  createdAt: z.string(),
  current: z.boolean(),
  spec: AppSpec.optional(),
});

export const RevisionDiffSchema = z.object({
  from: z.number().int(),
  to: z.number().int(),
  changes: z.array(z.object({ path: z.string(), from: z.unknown().optional(), to: z.unknown().optional(), summary: z.string() })),
});
