import path from 'node:path';
import { z } from 'zod';
import { formatIssue, parseOrThrow, SpecValidationError } from '@berth/spec';

const Bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

/** Every variable the gateway reads, validated once at boot. */
const EnvSchema = z.object({
  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'expected a postgresql:// URL').optional(),
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
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
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
  production: boolean;
}

export class ConfigError extends Error {}

/** Reads the environment; throws one error naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  let e: Env;
  try {
    e = parseOrThrow(EnvSchema, env, 'environment');
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
    production: e.NODE_ENV === 'production',
  };
}

export const CONFIG = Symbol('CONFIG');
