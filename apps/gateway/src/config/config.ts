import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { formatIssue, parseOrThrow, SpecValidationError } from '@berth/model';

const Bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

/** A span of time for intervals and retention: "15s", "24h", "14d", "1y", or plain milliseconds. */
const Span = z
  .string()
  .regex(/^(\d+(ms|s|m|h|d|y)?)$/, 'expected a duration like "500ms", "15s", "24h", "14d" or "1y"')
  .transform((v) => {
    const [, n, unit] = /^(\d+)(ms|s|m|h|d|y)?$/.exec(v)!;
    const per: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, y: 365 * 86_400_000 };
    return Number(n) * per[unit ?? 'ms']!;
  })
  .refine((ms) => ms > 0, 'expected more than zero');

/** Every variable the gateway reads, validated once at boot. */
const EnvSchema = z.object({
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'expected a postgresql:// URL')
    .optional(),
  BERTH_DATA_DIR: z.string().min(1).default('.berth'),
  BERTH_HOST: z.string().min(1).default('127.0.0.1'),
  BERTH_PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  BERTH_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** base64 of 32 random bytes; without it a key is generated in the data folder. */
  BERTH_SECRET_KEY: z
    .string()
    .refine((v) => Buffer.from(v, 'base64').length === 32, 'expected base64 of exactly 32 bytes (openssl rand -base64 32)')
    .optional(),
  /** Earlier keys, comma-separated, still accepted for reading while credentials are re-sealed. */
  BERTH_SECRET_KEY_PREVIOUS: z
    .string()
    .refine((v) => v.split(',').every((k) => Buffer.from(k.trim(), 'base64').length === 32), 'expected comma-separated base64 keys of 32 bytes')
    .optional(),
  /** Register the local Docker engine as cluster "local" on first start when its socket answers. */
  BERTH_LOCAL_DOCKER: Bool.default(true),
  BERTH_LOCAL_DOCKER_SOCKET: z.string().default('/var/run/docker.sock'),
  /** How long one driver call may take before it fails with a timeout. */
  BERTH_DRIVER_TIMEOUT_MS: z.coerce.number().int().min(100).default(30_000),
  /** The bound for whole-app writes (apply, remove), whose time grows with the number of services. */
  BERTH_DRIVER_APP_TIMEOUT_MS: z.coerce.number().int().min(100).default(180_000),
  /** Serve reads of services, discovery, app status and volumes from a watch-fed read model of each cluster. */
  BERTH_READ_MODEL: Bool.default(true),
  /** How often the read model lists everything again, besides after every reconnect of its watch. */
  BERTH_READ_MODEL_RESYNC_MS: z.coerce.number().int().min(1000).default(60_000),
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  /** The first admin token's value (berth_<32 hex>_<secret>); without it one is generated and shown once. */
  BERTH_BOOTSTRAP_TOKEN: z
    .string()
    .regex(
      /^berth_[0-9a-f]{12}4[0-9a-f]{3}[89ab][0-9a-f]{15}_[A-Za-z0-9_-]{32,}$/,
      'expected berth_<a version-4 UUID as 32 hex digits>_<at least 32 base64url characters>',
    )
    .optional(),
  /** Write the generated first admin token to this file (mode 0600) instead of printing it. */
  BERTH_BOOTSTRAP_TOKEN_FILE: z.string().min(1).optional(),
  /** Serve /v1/health and /v1/ready without a token (load balancers, orchestrator probes). */
  BERTH_PUBLIC_HEALTH: Bool.default(true),
  /** Serve /metrics without a token (Prometheus scrapers on a private network). */
  BERTH_PUBLIC_METRICS: Bool.default(true),
  /** Requests per minute per token. */
  BERTH_RATE_LIMIT: z.coerce.number().int().min(1).default(1200),
  BERTH_BODY_LIMIT: z
    .string()
    .regex(/^\d+(kb|mb)$/, 'expected a size like "512kb" or "1mb"')
    .default('1mb'),
  /** GraphQL introspection; off in production unless enabled. */
  BERTH_GRAPHQL_INTROSPECTION: Bool.optional(),
  BERTH_GRAPHQL_MAX_DEPTH: z.coerce.number().int().min(2).default(10),
  BERTH_GRAPHQL_MAX_COST: z.coerce.number().int().min(10).default(5000),
  /** Comma-separated origins allowed by CORS; unset: CORS off. */
  BERTH_CORS_ORIGINS: z.string().optional(),
  /** Serve HTTPS with this certificate and key (PEM files). */
  BERTH_TLS_CERT_FILE: z.string().min(1).optional(),
  BERTH_TLS_KEY_FILE: z.string().min(1).optional(),
  /** Run the event watchers, metrics collectors and rollups (false: the history is still served, nothing new is recorded). */
  BERTH_MONITORING: Bool.default(true),
  /** This replica's name in the monitoring leases; host:pid:random by default. */
  BERTH_INSTANCE_ID: z
    .string()
    .regex(/^[A-Za-z0-9._:@-]{1,200}$/, 'expected 1-200 letters, digits and ._:@-')
    .optional(),
  /** A replica that stops renewing loses its clusters' watcher and collector to another replica after this long. */
  BERTH_MONITORING_LEASE_TTL: Span.prefault('15s'),
  /**
   * Cluster events are written in batches gathered for at most this long. Short by default: a
   * subscriber sees an event only once it is stored (250 ms measured 257 ms p50 end to end; 1 ms, 33 ms).
   */
  BERTH_EVENTS_FLUSH: Span.prefault('25ms'),
  /** How often live event streams look for events another replica stored. */
  BERTH_EVENTS_POLL: Span.prefault('1s'),
  BERTH_EVENTS_RETENTION: Span.prefault('30d'),
  /** How often every running container or pod is sampled. */
  BERTH_METRICS_INTERVAL: Span.prefault('15s'),
  /** How often samples are rolled up and expired. */
  BERTH_METRICS_ROLLUP_INTERVAL: Span.prefault('60s'),
  BERTH_METRICS_RETENTION_RAW: Span.prefault('24h'),
  BERTH_METRICS_RETENTION_MINUTE: Span.prefault('14d'),
  BERTH_METRICS_RETENTION_HOUR: Span.prefault('1y'),
  /** Width of the "minute" and "hour" rollup buckets; only tests shorten them. */
  BERTH_METRICS_MINUTE_BUCKET: Span.prefault('1m'),
  BERTH_METRICS_HOUR_BUCKET: Span.prefault('1h'),
});

export type Env = z.output<typeof EnvSchema>;

export interface Config {
  databaseUrl?: string;
  dataDir: string;
  host: string;
  port: number;
  logLevel: Env['BERTH_LOG_LEVEL'];
  secretKey?: Buffer;
  previousSecretKeys: Buffer[];
  localDocker: { enabled: boolean; socketPath: string };
  driverTimeoutMs: number;
  driverAppTimeoutMs: number;
  /** The watch-fed read model of registered clusters (off: every read asks the orchestrator). */
  readModel: { enabled: boolean; resyncMs: number };
  production: boolean;
  auth: {
    bootstrapToken?: string;
    bootstrapTokenFile?: string;
    publicHealth: boolean;
    publicMetrics: boolean;
    rateLimitPerMinute: number;
  };
  http: { bodyLimit: string; corsOrigins: string[]; tls?: { certFile: string; keyFile: string } };
  graphql: { introspection: boolean; maxDepth: number; maxCost: number };
  monitoring: MonitoringConfig;
}

export interface MonitoringConfig {
  /** Watchers, collectors and rollups run (the history API is served either way). */
  enabled: boolean;
  instanceId: string;
  leaseTtlMs: number;
  events: { flushMs: number; pollMs: number; retentionMs: number };
  metrics: {
    intervalMs: number;
    rollupIntervalMs: number;
    retentionMs: { raw: number; minute: number; hour: number };
    bucketMs: { minute: number; hour: number };
  };
}

export class ConfigError extends Error {}

/** Reads the environment; throws one error naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  let e: Env;
  try {
    e = parseOrThrow(
      EnvSchema.refine((v) => !!v.BERTH_TLS_CERT_FILE === !!v.BERTH_TLS_KEY_FILE, {
        message: 'give BERTH_TLS_CERT_FILE and BERTH_TLS_KEY_FILE together',
        path: ['BERTH_TLS_KEY_FILE'],
      }),
      env,
      'environment',
    );
  } catch (err) {
    if (err instanceof SpecValidationError) {
      throw new ConfigError(`invalid environment:\n${err.issues.map((i) => `  ${formatIssue(i)}`).join('\n')}`);
    }
    throw err;
  }
  return {
    databaseUrl: e.DATABASE_URL,
    dataDir: path.resolve(e.BERTH_DATA_DIR),
    host: e.BERTH_HOST,
    port: e.BERTH_PORT,
    logLevel: e.BERTH_LOG_LEVEL,
    secretKey: e.BERTH_SECRET_KEY ? Buffer.from(e.BERTH_SECRET_KEY, 'base64') : undefined,
    previousSecretKeys: (e.BERTH_SECRET_KEY_PREVIOUS ?? '')
      .split(',')
      .filter((k) => k.trim())
      .map((k) => Buffer.from(k.trim(), 'base64')),
    localDocker: { enabled: e.BERTH_LOCAL_DOCKER, socketPath: e.BERTH_LOCAL_DOCKER_SOCKET },
    driverTimeoutMs: e.BERTH_DRIVER_TIMEOUT_MS,
    driverAppTimeoutMs: e.BERTH_DRIVER_APP_TIMEOUT_MS,
    readModel: { enabled: e.BERTH_READ_MODEL, resyncMs: e.BERTH_READ_MODEL_RESYNC_MS },
    production: e.NODE_ENV === 'production',
    auth: {
      bootstrapToken: e.BERTH_BOOTSTRAP_TOKEN,
      bootstrapTokenFile: e.BERTH_BOOTSTRAP_TOKEN_FILE,
      publicHealth: e.BERTH_PUBLIC_HEALTH,
      publicMetrics: e.BERTH_PUBLIC_METRICS,
      rateLimitPerMinute: e.BERTH_RATE_LIMIT,
    },
    http: {
      bodyLimit: e.BERTH_BODY_LIMIT,
      corsOrigins: (e.BERTH_CORS_ORIGINS ?? '')
        .split(',')
        .map((o) => o.trim())
        .filter(Boolean),
      tls: e.BERTH_TLS_CERT_FILE && e.BERTH_TLS_KEY_FILE ? { certFile: e.BERTH_TLS_CERT_FILE, keyFile: e.BERTH_TLS_KEY_FILE } : undefined,
    },
    graphql: {
      introspection: e.BERTH_GRAPHQL_INTROSPECTION ?? e.NODE_ENV !== 'production',
      maxDepth: e.BERTH_GRAPHQL_MAX_DEPTH,
      maxCost: e.BERTH_GRAPHQL_MAX_COST,
    },
    monitoring: monitoringConfig(e),
  };
}

function monitoringConfig(e: Env): MonitoringConfig {
  const retentionMs = { raw: e.BERTH_METRICS_RETENTION_RAW, minute: e.BERTH_METRICS_RETENTION_MINUTE, hour: e.BERTH_METRICS_RETENTION_HOUR };
  const bucketMs = { minute: e.BERTH_METRICS_MINUTE_BUCKET, hour: e.BERTH_METRICS_HOUR_BUCKET };
  const problems: string[] = [];
  // a coarser resolution answers for ranges the finer one no longer holds: it must be kept at least as long
  if (retentionMs.raw > retentionMs.minute) problems.push('BERTH_METRICS_RETENTION_RAW must not exceed BERTH_METRICS_RETENTION_MINUTE');
  if (retentionMs.minute > retentionMs.hour) problems.push('BERTH_METRICS_RETENTION_MINUTE must not exceed BERTH_METRICS_RETENTION_HOUR');
  // hour buckets are built from whole minute buckets
  if (bucketMs.hour % bucketMs.minute !== 0 || bucketMs.hour <= bucketMs.minute)
    problems.push('BERTH_METRICS_HOUR_BUCKET must be a multiple of BERTH_METRICS_MINUTE_BUCKET, and larger');
  if (bucketMs.minute % 1000 !== 0) problems.push('BERTH_METRICS_MINUTE_BUCKET must be whole seconds');
  if (problems.length) throw new ConfigError(`invalid environment:\n${problems.map((p) => `  ${p}`).join('\n')}`);
  return {
    enabled: e.BERTH_MONITORING,
    instanceId: e.BERTH_INSTANCE_ID ?? `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`,
    leaseTtlMs: e.BERTH_MONITORING_LEASE_TTL,
    events: { flushMs: e.BERTH_EVENTS_FLUSH, pollMs: e.BERTH_EVENTS_POLL, retentionMs: e.BERTH_EVENTS_RETENTION },
    metrics: { intervalMs: e.BERTH_METRICS_INTERVAL, rollupIntervalMs: e.BERTH_METRICS_ROLLUP_INTERVAL, retentionMs, bucketMs },
  };
}

export const CONFIG = Symbol('CONFIG');
