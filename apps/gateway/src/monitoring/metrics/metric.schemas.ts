import { z } from 'zod';

export const MetricsQuerySchema = z.strictObject({
  cluster: z.string().min(1, 'give the cluster (name or id)'),
  app: z.string().optional(),
  service: z.string().optional(),
  from: z.coerce.date().optional().describe('start of the range (ISO 8601); 1 hour before `to` by default'),
  to: z.coerce.date().optional().describe('end of the range (ISO 8601); now by default'),
  step: z
    .string()
    .regex(/^\d+(ms|s|m|h|d)$/, 'expected a duration like "15s", "1m", "1h"')
    .optional()
    .describe('width of each point; about 120 points over the range by default'),
  by: z.enum(['service', 'replica']).default('service').describe('one series per service (replicas summed) or per replica'),
});
export type MetricsQuery = z.output<typeof MetricsQuerySchema>;

export const MetricPointSchema = z.object({
  time: z.string().describe('start of the step'),
  cpuCores: z.number().describe('average CPU in use over the step, in cores (summed over replicas)'),
  cpuCoresMax: z.number().describe('peak CPU of each replica within the step, summed'),
  memoryBytes: z.number().describe('average memory in use (working set), summed over replicas'),
  memoryMaxBytes: z.number().describe('peak memory of each replica within the step, summed'),
  memoryLimitBytes: z.number().optional(),
  netRxBytesPerSecond: z
    .number()
    .optional()
    .describe('from the change of the cumulative counters since the previous step; absent for the first step of a replica'),
  netTxBytesPerSecond: z.number().optional(),
  blockReadBytesPerSecond: z.number().optional(),
  blockWriteBytesPerSecond: z.number().optional(),
  replicas: z.number().int().describe('replicas sampled within the step'),
  samples: z.number().int().describe('raw samples the step stands for'),
});
export type MetricPoint = z.output<typeof MetricPointSchema>;

export const MetricSeriesSchema = z.object({
  app: z.string().optional(),
  service: z.string().optional(),
  replica: z.string().optional(),
  points: z.array(MetricPointSchema),
});

export const CollectionStatusSchema = z.object({
  state: z.enum(['starting', 'collecting', 'unsupported', 'failing', 'stopped', 'not-running', 'disabled']),
  message: z.string().optional().describe('why nothing is collected (for example: the cluster serves no metrics.k8s.io API)'),
  owner: z.string().optional().describe('the gateway replica that collects this cluster'),
  lastSampleAt: z.string().optional(),
});

export const MetricsAnswerSchema = z.object({
  cluster: z.string(),
  from: z.string(),
  to: z.string(),
  step: z.string(),
  stepMs: z.number().int(),
  resolution: z
    .enum(['raw', 'minute', 'hour'])
    .describe('the stored resolution the answer was computed from (finer data fills the newest steps not rolled up yet)'),
  series: z.array(MetricSeriesSchema),
  collection: CollectionStatusSchema,
});
export type MetricsAnswer = z.output<typeof MetricsAnswerSchema>;
