import type { OpenAPIObject } from '@nestjs/swagger';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** One line per operation: the title a generated client and the docs page show. */
const SUMMARIES: Record<string, string> = {
  getHealth: 'Liveness',
  getReadiness: 'Readiness, with each cluster',
  createToken: 'Create an API token',
  listTokens: 'List API tokens',
  revokeToken: 'Revoke an API token',
  listAuditEntries: 'List audit entries',
  registerCluster: 'Register a cluster',
  listClusters: 'List clusters',
  getCluster: 'Get a cluster',
  updateCluster: "Update a cluster's connection",
  removeCluster: 'Forget a cluster',
  convertCompose: 'Convert a Compose file to an AppSpec',
  listOperations: 'List operations',
  getOperation: 'Get an operation',
  streamOperationEvents: "Follow an operation's progress (SSE)",
  applyApp: 'Apply an app (AppSpec or Compose file)',
  listApps: 'List apps',
  planApp: 'Plan an apply (dry run)',
  getApp: 'Get an app',
  removeApp: 'Remove an app',
  rollbackApp: 'Roll an app back',
  listAppRevisions: "List an app's revisions",
  diffAppRevisions: 'Diff two revisions',
  getAppRevision: 'Get a revision',
  listServices: "List an app's services",
  getService: 'Get a service',
  updateService: 'Update a service',
  scaleService: 'Scale a service',
  rollbackService: 'Roll a service back',
  runJob: 'Run a job',
  listJobs: 'List job runs',
  getJob: 'Get a job run',
  listVolumes: 'List volumes',
  createVolume: 'Create a volume',
  removeVolume: 'Remove a volume',
  getWorkloadPolicy: "Get a cluster's workload policy",
  setWorkloadPolicy: "Replace a cluster's workload policy",
  listEvents: 'List cluster events',
  streamEvents: 'Follow cluster events (SSE)',
  queryMetrics: 'Query container metrics',
  streamServiceLogs: "Stream a service's logs",
  getMonitoringStatus: 'Monitoring status per cluster',
  scrapePrometheusMetrics: 'Prometheus metrics of this gateway replica',
};

const TAGS: { name: string; description: string }[] = [
  { name: 'health', description: 'Liveness and readiness probes; no token needed' },
  { name: 'tokens', description: 'API tokens and the roles they carry' },
  { name: 'audit', description: 'Who called what, and what was refused' },
  { name: 'clusters', description: 'Swarm and Kubernetes clusters Berth controls' },
  { name: 'compose', description: 'Docker Compose files converted to AppSpecs' },
  { name: 'apps', description: 'Apps: desired state, apply, plan, revisions and rollback' },
  { name: 'services', description: "An app's services: discovery, update, scale, rollback" },
  { name: 'jobs', description: 'Run-once jobs' },
  { name: 'volumes', description: 'Volumes Berth manages for apps' },
  { name: 'policy', description: "A cluster's workload policy: what non-admin tokens may give a workload" },
  { name: 'operations', description: 'Every change Berth makes runs as an operation; follow it here' },
  { name: 'events', description: 'Cluster events Berth records' },
  { name: 'metrics', description: 'Container metrics history' },
  { name: 'logs', description: 'Service logs' },
  { name: 'monitoring', description: "The gateway's own monitoring: collection status and Prometheus metrics" },
];

/** Request examples of the calls a newcomer makes first. */
const EXAMPLES: Record<string, unknown> = {
  applyApp: {
    name: 'shop',
    services: { web: { image: 'nginx:1.27-alpine', replicas: 2, ports: [{ target: 80, published: 8080 }] } },
  },
  updateService: { image: 'nginx:1.28-alpine', replicas: 3, update: { parallelism: 1, order: 'start-first' } },
  createToken: { name: 'ci-deployer', grants: [{ role: 'operator', cluster: 'prod', app: 'shop' }], expiresAt: '2027-01-01T00:00:00Z' },
};

/** Operations that answer server-sent events. */
const STREAMS = new Set(['streamOperationEvents', 'streamEvents']);

const error = (description: string) => ({ description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } });

/** Responses any call can give, shared under components/responses. */
const RESPONSES = {
  BadRequest: error('invalid input; `details` names each field (also a NUL byte or a malformed escape in the URL)'),
  Unauthenticated: error('no token, or an unknown, expired or revoked one'),
  Forbidden: error("the token's roles do not allow this"),
  PayloadTooLarge: error('the request body is larger than the gateway accepts (BERTH_BODY_LIMIT)'),
  RateLimited: error("the token's rate limit is reached; retry after the time the message names"),
};
const shared = (name: keyof typeof RESPONSES) => ({ $ref: `#/components/responses/${name}` });

/**
 * What the decorators do not say: summaries, tags, the responses every authenticated call can give
 * (401, 403, 413, 429), public routes, stream and text media types, and typed query parameters.
 */
export function finishOpenApiDocument(document: OpenAPIObject, publicOperations: ReadonlySet<string>): OpenAPIObject {
  const doc = document as unknown as Json;
  doc.servers = [{ url: '/', description: 'the gateway that serves this document (GET /docs/openapi.json)' }];
  doc.tags = TAGS;
  doc.components.responses = RESPONSES;
  const bearer = doc.components.securitySchemes.bearer;
  delete bearer.bearerFormat; // tokens are opaque (berth_<id>_<secret>), not JWTs
  for (const [, item] of Object.entries(doc.paths as Json))
    for (const [, op] of Object.entries(item as Json)) {
      const id: string = op.operationId;
      const summary = SUMMARIES[id];
      if (!summary) throw new Error(`no summary for operation ${id}: add it to SUMMARIES in openapi-document.ts`);
      op.summary = summary;
      const success = Object.entries(op.responses as Json).find(([status]) => status.startsWith('2'))?.[1] as Json;
      op.description ??= success.description;
      if (publicOperations.has(id)) op.security = [];
      else {
        op.responses['401'] ??= shared('Unauthenticated');
        op.responses['403'] ??= shared('Forbidden');
        op.responses['429'] ??= shared('RateLimited');
      }
      op.responses['400'] ??= shared('BadRequest');
      if (op.requestBody) op.responses['413'] ??= shared('PayloadTooLarge');
      if (STREAMS.has(id)) success.content = { 'text/event-stream': { schema: { type: 'string', description: 'server-sent events' } } };
      if (id === 'scrapePrometheusMetrics')
        success.content = { 'text/plain': { schema: { type: 'string', description: 'Prometheus text exposition format' } } };
      for (const [type, media] of Object.entries((op.requestBody?.content ?? {}) as Json))
        if (type !== 'application/json') media.schema = { type: 'string', description: 'the file as text' };
      if (EXAMPLES[id]) op.requestBody.content['application/json'].example = EXAMPLES[id];
      for (const parameter of op.parameters ?? []) {
        if ((parameter.name === 'wait' || parameter.name === 'fresh') && parameter.in === 'query') parameter.schema = { type: 'boolean', default: false };
        else if (!parameter.schema || Object.keys(parameter.schema).length === 0) parameter.schema = { type: 'string' };
      }
      op.responses = Object.fromEntries(Object.entries(op.responses as Json).sort(([a], [b]) => a.localeCompare(b)));
    }
  return document;
}

/**
 * OpenAPI 3.0 ignores a `$ref`'s siblings, so zod wraps a described reference in a one-element
 * `allOf`; linters and generators want the reference itself (the component carries its description).
 */
export function plainReferences(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(plainReferences);
  if (value === null || typeof value !== 'object') return value;
  const object = value as Json;
  if (Array.isArray(object.allOf) && object.allOf.length === 1 && object.allOf[0].$ref) return { $ref: object.allOf[0].$ref };
  return Object.fromEntries(Object.entries(object).map(([key, child]) => [key, plainReferences(child)]));
}
