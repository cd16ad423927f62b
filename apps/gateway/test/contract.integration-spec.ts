import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { OPENAPI_FILE, SCHEMA_FILE, printedOpenApi, printedSchema } from '../src/schema-file.js';
import { type RunningGateway, startGateway } from './harness.js';

/** The published contracts: the checked-in GraphQL schema and the OpenAPI document. */
describe('API contracts', () => {
  let gw: RunningGateway;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'berth-contract-'));
    gw = await startGateway({ BERTH_DATA_DIR: dir });
  }, 60_000);

  afterAll(async () => {
    await gw?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('the GraphQL schema matches apps/gateway/schema.gql (run `pnpm --filter @berth/gateway emit-schema` after a change)', async () => {
    expect(printedSchema(gw.app)).toBe(await readFile(SCHEMA_FILE, 'utf8'));
  });

  it('the OpenAPI document matches apps/gateway/openapi.json, which types packages/client', async () => {
    expect(printedOpenApi(gw.app)).toBe(await readFile(OPENAPI_FILE, 'utf8'));
  });

  it('documents every endpoint with its responses, error shape included', async () => {
    const doc = (await gw.call('GET', '/docs/openapi.json')).body;
    const operations = Object.entries(doc.paths as Record<string, Record<string, any>>).flatMap(([p, methods]) =>
      Object.entries(methods).map(([m, op]) => ({ route: `${m.toUpperCase()} ${p}`, op })),
    );
    expect(operations.length).toBeGreaterThanOrEqual(25);
    expect(doc.components.schemas.Error.properties.error.properties.code.enum).toContain('NOT_FOUND');
    expect(operations.filter(({ op }) => op.security?.length === 0).map(({ route }) => route)).toEqual(['GET /v1/health', 'GET /v1/ready', 'GET /metrics']);
    for (const { route, op } of operations) {
      const responses = op.responses as Record<string, any>;
      const success = Object.keys(responses).filter((s) => s.startsWith('2'));
      expect({ route, success: success.length > 0 }).toEqual({ route, success: true });
      expect({ route, error: responses['500']?.content?.['application/json']?.schema }).toEqual({ route, error: { $ref: '#/components/schemas/Error' } });
      // a token is needed everywhere but the probes and /metrics, and then its refusals are documented
      const statuses = Object.keys(responses);
      if (op.security?.length === 0) expect({ route, statuses }).toEqual({ route, statuses: expect.not.arrayContaining(['401']) });
      else expect({ route, statuses }).toEqual({ route, statuses: expect.arrayContaining(['401', '403', '429']) });
      if (['POST', 'PATCH'].some((m) => route.startsWith(m)) && !route.endsWith('/convert')) {
        expect({ route, body: op.requestBody?.content !== undefined }).toEqual({ route, body: true });
      }
    }
  });
});
