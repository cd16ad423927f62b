import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { createScratchDatabase } from '@berth/db';
import type { INestApplication } from '@nestjs/common';
import { createApp } from '../src/app.factory.js';
import { type Config, loadConfig } from '../src/config/config.js';
import { createLogger } from '../src/common/logger.js';
import type { GatewayOverrides } from '../src/core.module.js';

/** The first admin token of every test gateway (BERTH_BOOTSTRAP_TOKEN); calls send it unless told otherwise. */
export const ADMIN_TOKEN = 'berth_0123456789ab4def8123456789abcdef_test-admin-secret-0123456789abcdefghij';

/** The secret part of a token (berth_<32 hex>_<secret>; the secret may itself contain "_"). */
export function secretOf(token: string): string {
  return token.slice('berth_'.length + 32 + 1);
}

export interface RunningGateway {
  url: string;
  app: INestApplication;
  /** Every log line the gateway wrote, as text. */
  logs(): string;
  /** Every response body the tests read through `call` and `graphql`, as text. */
  responses(): string;
  call(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: any; headers: Headers }>;
  graphql(query: string, variables?: Record<string, unknown>, headers?: Record<string, string>): Promise<{ data?: any; errors?: any[] }>;
  close(): Promise<void>;
}

/** Starts a real gateway on a loopback port with `env` on top of a quiet default environment. */
export async function startGateway(
  env: Record<string, string | undefined>,
  shared?: { logs: string[]; responses: string[] },
  overrides: GatewayOverrides = {},
): Promise<RunningGateway> {
  const logs = shared?.logs ?? [];
  const responses = shared?.responses ?? [];
  const config: Config = loadConfig({ BERTH_PORT: '0', BERTH_LOG_LEVEL: 'debug', BERTH_LOCAL_DOCKER: 'false', BERTH_BOOTSTRAP_TOKEN: ADMIN_TOKEN, ...env });
  const sink = new Writable({
    write(chunk, _enc, done) {
      logs.push(String(chunk));
      done();
    },
  });
  const app = await createApp(config, createLogger(config.logLevel, sink), overrides);
  await app.listen(0, '127.0.0.1');
  const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  const call: RunningGateway['call'] = async (method, path, body, headers = {}) => {
    const isText = typeof body === 'string';
    const res = await fetch(`${url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${ADMIN_TOKEN}`,
        ...(body === undefined ? {} : { 'content-type': isText ? 'application/yaml' : 'application/json' }),
        ...headers,
      },
      body: body === undefined ? undefined : isText ? body : JSON.stringify(body),
    });
    const text = await res.text();
    responses.push(text);
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {}
    return { status: res.status, body: parsed, headers: res.headers };
  };
  return {
    url,
    app,
    logs: () => logs.join(''),
    responses: () => responses.join('\n'),
    call,
    async graphql(query, variables, headers) {
      const res = await call('POST', '/graphql', { query, variables }, headers);
      return res.body as { data?: any; errors?: any[] };
    },
    close: () => app.close(),
  };
}

/**
 * A gateway on a scratch Postgres database with the test cluster of `kind` registered as "c1"
 * (the local swarm, or the control plane of BERTH_KUBECONFIG). `close` also drops the database.
 */
export async function startGatewayWithCluster(kind: 'swarm' | 'kubernetes', scratchName: string): Promise<RunningGateway> {
  const db = await createScratchDatabase(process.env.DATABASE_URL!, scratchName);
  const gw = await startGateway({ DATABASE_URL: db.url, BERTH_DATA_DIR: await mkdtemp(path.join(tmpdir(), `${scratchName}-`)) });
  const registration =
    kind === 'swarm'
      ? { name: 'c1', kind, socketPath: process.env.BERTH_DOCKER_SOCKET ?? '/var/run/docker.sock' }
      : { name: 'c1', kind, kubeconfig: await readFile(process.env.BERTH_KUBECONFIG!, 'utf8') };
  const res = await gw.call('POST', '/v1/clusters', registration);
  if (res.status !== 201) throw new Error(`registering the ${kind} test cluster answered ${res.status}: ${JSON.stringify(res.body)}`);
  return {
    ...gw,
    close: async () => {
      await gw.close();
      await db.drop();
    },
  };
}
