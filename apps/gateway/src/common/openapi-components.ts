import { z } from 'zod';
import {
  AppSpec,
  Duration,
  HealthCheck,
  JobSpec,
  Placement,
  PortSpec,
  Resources,
  RestartPolicy,
  RollbackPolicy,
  SecretMount,
  ServiceSpec,
  UpdatePolicy,
  UpdatePolicyPatch,
  VolumeMount,
  WorkloadPolicy,
} from '@berth/model';
import { AppViewSchema, ChangeResultSchema, PlanSchema, RevisionDiffSchema, RevisionViewSchema } from '../apps/app.schemas.js';
import { AuditViewSchema } from '../audit/audit.controller.js';
import { CreateTokenRequest } from '../auth/tokens.service.js';
import { OperationViewSchema, ProgressSchema } from '../changes/operation.views.js';
import { ClusterViewSchema, RegisterCluster, RegisterKubernetesCluster, RegisterSwarmCluster, UpdateCluster } from '../clusters/cluster.schemas.js';
import { ComposeConvertRequest, ComposeImportSchema, ComposeReportSchema } from '../compose/compose.schemas.js';
import { JobRunSchema } from '../jobs/jobs.controller.js';
import { EventViewSchema } from '../monitoring/events/event.views.js';
import { LogLineSchema } from '../monitoring/logs/logs.service.js';
import { MetricsAnswerSchema, MetricSeriesSchema } from '../monitoring/metrics/metric.schemas.js';
import { MonitoringViewSchema } from '../monitoring/monitoring.controller.js';
import { WorkloadPolicyViewSchema } from '../policy/workload-policy.controller.js';
import { DiscoverySchema } from '../services/services.controller.js';
import { TokenViewSchema } from '../auth/tokens.controller.js';
import { VolumeSchema } from '../volumes/volumes.controller.js';
import { RollbackRequest, ScaleRequest, UpdateServiceRequest } from './change-requests.js';
import { ErrorResponseSchema } from './openapi.js';

/**
 * The schemas the OpenAPI document names under components/schemas (each used in place as a `$ref`).
 * Registered on the schema instances themselves, so every use of them, however deep, refers to the
 * component; the zod schemas stay the one source.
 */
const COMPONENTS: [z.ZodType, string][] = [
  [ErrorResponseSchema, 'Error'],
  [AppSpec, 'AppSpec'],
  [ServiceSpec, 'ServiceSpec'],
  [JobSpec, 'JobSpec'],
  [UpdatePolicy, 'UpdatePolicy'],
  [UpdatePolicyPatch, 'UpdatePolicyPatch'],
  [RollbackPolicy, 'RollbackPolicy'],
  [HealthCheck, 'HealthCheck'],
  [PortSpec, 'PortSpec'],
  [Resources, 'Resources'],
  [RestartPolicy, 'RestartPolicy'],
  [Placement, 'Placement'],
  [VolumeMount, 'VolumeMount'],
  [SecretMount, 'SecretMount'],
  [Duration, 'Duration'],
  [WorkloadPolicy, 'WorkloadPolicy'],
  [WorkloadPolicyViewSchema, 'WorkloadPolicyView'],
  [OperationViewSchema, 'Operation'],
  [ProgressSchema, 'Progress'],
  [ChangeResultSchema, 'ChangeResult'],
  [PlanSchema, 'Plan'],
  [AppViewSchema, 'App'],
  [RevisionViewSchema, 'Revision'],
  [RevisionDiffSchema, 'RevisionDiff'],
  [DiscoverySchema, 'Service'],
  [ClusterViewSchema, 'Cluster'],
  [RegisterCluster, 'RegisterCluster'],
  [RegisterSwarmCluster, 'RegisterSwarmCluster'],
  [RegisterKubernetesCluster, 'RegisterKubernetesCluster'],
  [UpdateCluster, 'UpdateCluster'],
  [JobRunSchema, 'Job'],
  [VolumeSchema, 'Volume'],
  [TokenViewSchema, 'Token'],
  [CreateTokenRequest, 'CreateTokenRequest'],
  [AuditViewSchema, 'AuditEntry'],
  [EventViewSchema, 'Event'],
  [LogLineSchema, 'LogLine'],
  [MetricSeriesSchema, 'MetricSeries'],
  [MetricsAnswerSchema, 'MetricsAnswer'],
  [MonitoringViewSchema, 'MonitoringStatus'],
  [ComposeImportSchema, 'ComposeImport'],
  [ComposeReportSchema, 'ComposeReport'],
  [ComposeConvertRequest, 'ComposeConvertRequest'],
  [ScaleRequest, 'ScaleRequest'],
  [UpdateServiceRequest, 'UpdateServiceRequest'],
  [RollbackRequest, 'RollbackRequest'],
];

const DURATION_TEXT = '^(\\d+(\\.\\d+)?(ms|s|m|h))+$';

/** What zod cannot say itself: a Duration is read as milliseconds or text and always answered in milliseconds. */
export const OPENAPI_OVERRIDES = new Map<z.ZodType, Partial<Record<'input' | 'output', Record<string, unknown>>>>([
  [
    Duration,
    {
      input: {
        description: 'A duration: milliseconds (integer), or text like "500ms", "10s" or "1m30s"',
        oneOf: [
          { type: 'integer', minimum: 0, description: 'milliseconds' },
          { type: 'string', pattern: DURATION_TEXT, example: '10s' },
        ],
      },
      output: { type: 'integer', minimum: 0, description: 'A duration in milliseconds' },
    },
  ],
]);

let registered = false;

/** Gives each component schema its id in `z.globalRegistry` (keeping its description). Idempotent. */
export function registerOpenApiComponents(): void {
  if (registered) return;
  registered = true;
  for (const [schema, id] of COMPONENTS) z.globalRegistry.add(schema, { ...z.globalRegistry.get(schema), id });
}
