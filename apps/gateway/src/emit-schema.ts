/**
 * Writes the published contracts: apps/gateway/schema.gql (GraphQL) and apps/gateway/openapi.json
 * (REST, from which packages/client is typed). `pnpm --filter @berth/gateway emit-schema`.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createApp } from './app.factory.js';
import { loadConfig } from './config/config.js';
import { createLogger } from './common/logger.js';
import { OPENAPI_FILE, SCHEMA_FILE, printedOpenApi, printedSchema } from './schema-file.js';

const dir = await mkdtemp(path.join(tmpdir(), 'berth-schema-'));
const config = loadConfig({ BERTH_DATA_DIR: dir, BERTH_LOCAL_DOCKER: 'false', BERTH_LOG_LEVEL: 'silent', BERTH_BOOTSTRAP_TOKEN_FILE: path.join(dir, 'token') });
const app = await createApp(config, createLogger('silent'));
await app.init();
await writeFile(SCHEMA_FILE, printedSchema(app));
await writeFile(OPENAPI_FILE, printedOpenApi(app));
await app.close();
await rm(dir, { recursive: true, force: true });
console.log(`wrote ${path.relative(process.cwd(), SCHEMA_FILE)} and ${path.relative(process.cwd(), OPENAPI_FILE)}`);
process.exit(0);
