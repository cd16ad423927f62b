/**
 * Applies and creates Prisma migrations offline.
 *
 * The Prisma 7 CLI downloads a native schema engine before any migrate command, which these
 * machines cannot reach; Prisma's own WASM schema engine (an npm package, pinned to the exact
 * engine version of `prisma`) does the same work through a driver adapter, on Postgres and on
 * PGlite. The migrations folder stays standard, so `prisma migrate deploy` and this are
 * interchangeable where the CLI works. This is an internal Prisma API: keep it in this one file.
 */
import { readFile, readdir, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { bindMigrationAwareSqlAdapterFactory, type SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils';

const require = createRequire(import.meta.url);

interface WasmSchemaEngine {
  applyMigrations(input: unknown): Promise<{ appliedMigrationNames: string[] }>;
  diff(input: unknown): Promise<{ exitCode: number; stdout?: string }>;
  free(): void;
}

interface SchemaEngineModule {
  SchemaEngine: { new: (options: unknown, log: (line: string) => void, adapter: object) => Promise<WasmSchemaEngine> };
  __wbg_set_wasm(exports: unknown): void;
}

/** Node's WebAssembly global; TypeScript types it only with the DOM library. */
const wasm = (
  globalThis as unknown as { WebAssembly: { instantiate(bytes: Uint8Array, imports: object): Promise<{ instance: { exports: Record<string, unknown> } }> } }
).WebAssembly;

let engineModule: Promise<SchemaEngineModule> | undefined;

/** The package's own entry imports the .wasm as an ES module, which Node 20 cannot; instantiate it by hand. */
function loadEngineModule(): Promise<SchemaEngineModule> {
  engineModule ??= (async () => {
    const bgPath = require.resolve('@prisma/schema-engine-wasm/schema_engine_bg');
    const bg = (await import('@prisma/schema-engine-wasm/schema_engine_bg')) as unknown as SchemaEngineModule;
    const bytes = await readFile(path.join(path.dirname(bgPath), 'schema_engine_bg.wasm'));
    const { instance } = await wasm.instantiate(bytes, { './schema_engine_bg.js': bg });
    bg.__wbg_set_wasm(instance.exports);
    (instance.exports.__wbindgen_start as () => void)();
    return bg;
  })();
  return engineModule;
}

export const MIGRATIONS_DIR = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../../prisma/migrations');
export const SCHEMA_PATH = path.resolve(MIGRATIONS_DIR, '../schema.prisma');

/** Names of the migration folders, in order. */
export async function migrationNames(dir = MIGRATIONS_DIR): Promise<string[]> {
  return (await loadMigrations(dir)).migrationDirectories.map((d) => d.path);
}

async function loadMigrations(dir: string) {
  const entries = (await readdir(dir).catch(() => [] as string[])).sort();
  const migrationDirectories = [];
  for (const name of entries) {
    const full = path.join(dir, name);
    if (!(await stat(full)).isDirectory()) continue;
    const sql = await readFile(path.join(full, 'migration.sql'), 'utf8').then(
      (value) => ({ tag: 'ok' as const, value }),
      (e: Error) => ({ tag: 'error' as const, value: e.message }),
    );
    migrationDirectories.push({ path: name, migrationFile: { path: 'migration.sql', content: sql } });
  }
  const lockPath = path.join(dir, 'migration_lock.toml');
  return {
    baseDir: dir,
    lockfile: { path: 'migration_lock.toml', content: await readFile(lockPath, 'utf8').catch(() => null) },
    shadowDbInitScript: '',
    migrationDirectories,
  };
}

async function withEngine<T>(
  factory: SqlMigrationAwareDriverAdapterFactory,
  datamodel: string | undefined,
  run: (engine: WasmSchemaEngine) => Promise<T>,
): Promise<T> {
  const mod = await loadEngineModule();
  const adapter = bindMigrationAwareSqlAdapterFactory(factory);
  const engine = await mod.SchemaEngine.new({ datamodels: datamodel ? [['schema.prisma', datamodel]] : undefined }, () => {}, adapter);
  try {
    return await run(engine);
  } finally {
    engine.free();
  }
}

/** Applies every migration of `dir` not applied yet; a no-op when the database is current. */
export async function applyMigrations(factory: SqlMigrationAwareDriverAdapterFactory, dir = MIGRATIONS_DIR): Promise<string[]> {
  const datamodel = await readFile(SCHEMA_PATH, 'utf8');
  return withEngine(factory, datamodel, async (engine) => {
    const migrationsList = await loadMigrations(dir);
    const out = await engine.applyMigrations({ migrationsList, filters: { externalTables: [], externalEnums: [] } });
    return out.appliedMigrationNames;
  });
}

/**
 * The SQL that takes a database from the migrations in `dir` to the schema; empty when they agree.
 * `factory` must provide a shadow database to replay the migrations on.
 */
export async function diffMigrations(factory: SqlMigrationAwareDriverAdapterFactory, dir = MIGRATIONS_DIR): Promise<string> {
  const datamodel = await readFile(SCHEMA_PATH, 'utf8');
  return withEngine(factory, datamodel, async (engine) => {
    const migrationsList = await loadMigrations(dir);
    const out = await engine.diff({
      from: { tag: 'migrations', ...migrationsList },
      to: { tag: 'schemaDatamodel', files: [{ path: SCHEMA_PATH, content: datamodel }] },
      script: true,
      exitCode: null,
      filters: { externalTables: [], externalEnums: [] },
    });
    const script = out.stdout ?? '';
    return script.trim() === '-- This is an empty migration.' ? '' : script;
  });
}
