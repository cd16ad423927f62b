import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, openSync } from 'node:fs';
import { mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createScratchDatabase, openDatabase } from '@berth/db';

const ROOT = path.resolve(import.meta.dirname, '../../..');
export const GATEWAY_MAIN = path.join(ROOT, 'apps/gateway/dist/main.js');
const PROFILER_HOOK = path.join(import.meta.dirname, 'profiler.hook.js');

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
    what: string,
  ) {
    super(`${what}: HTTP ${status} ${JSON.stringify(body).slice(0, 500)}`);
  }
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * The built gateway (apps/gateway/dist/main.js) as a child process on a scratch Postgres database,
 * spawned the way restart.integration-spec.ts does. With `profiling`, it loads a hook that starts and
 * stops a CPU profile on SIGUSR2, so a profile covers exactly the window the benchmark chooses.
 */
export class GatewayProcess {
  private constructor(
    private readonly child: ChildProcess,
    readonly url: string,
    private readonly cleanup: () => Promise<void>,
    private readonly profileOut: string | undefined,
    /** The first admin token, given to the gateway at start (BERTH_BOOTSTRAP_TOKEN): sent with every call. */
    readonly token: string,
    /** The gateway's own log (stdout). */
    readonly logFile: string,
  ) {
    child.once('exit', (code, signal) => {
      if (!this.stopping) process.stderr.write(`[bench] the gateway exited unexpectedly (code ${code}, signal ${signal}); its log: ${logFile}\n`);
    });
  }

  private stopping = false;

  /** Headers every call carries; a gateway without authentication ignores them. */
  get headers(): Record<string, string> {
    return { authorization: `Bearer ${this.token}` };
  }

  static async start(
    adminDatabaseUrl: string,
    options: {
      profiling?: boolean;
      env?: Record<string, string>;
      migrateFirst?: boolean;
      nodeArgs?: string[];
      /** 'pglite': the embedded default (no DATABASE_URL), in a data folder of its own. */
      database?: 'postgres' | 'pglite';
    } = {},
  ): Promise<GatewayProcess> {
    if (!existsSync(GATEWAY_MAIN)) throw new Error(`${GATEWAY_MAIN} is missing: run \`pnpm run build\` first (bench.sh does)`);
    const pglite = options.database === 'pglite';
    const dataDir = await mkdtemp(path.join(tmpdir(), 'berth-bench-'));
    const db = pglite ? undefined : await createScratchDatabase(adminDatabaseUrl, 'berth_bench');
    if (options.migrateFirst !== false) {
      // Every start but a database's first finds no pending migration and never loads Prisma's WASM
      // schema engine (nor, on PGlite, creates the data folder); preparing it here makes the gateway's
      // memory that of such a start.
      await (await openDatabase(db ? { kind: 'postgres', url: db.url } : { kind: 'pglite', dataDir: path.join(dataDir, 'pgdata') })).close();
    }
    const port = await freePort();
    const profileOut = options.profiling ? path.join(dataDir, 'gateway.cpuprofile') : undefined;
    // berth_<the token id, a version-4 UUID, as 32 hex digits>_<secret>
    const token = `berth_${randomUUID().replaceAll('-', '')}_${randomBytes(32).toString('base64url')}`;
    // the gateway logs JSON lines on stdout: kept in a file, named when something goes wrong
    const logFile = path.join(tmpdir(), `berth-bench-gateway-${port}.log`);
    // Started through a link in the scratch folder: on a shared machine, other runs that stop "their"
    // gateway by its command line (pkill -f apps/gateway/dist/main.js) must not stop this one. Node
    // resolves the link, so the gateway loads its modules from apps/gateway/dist as usual.
    const main = path.join(dataDir, 'berth-bench-gateway.js');
    await symlink(GATEWAY_MAIN, main);
    // the benchmark's own DATABASE_URL is the admin connection: the gateway gets its scratch database, or none (PGlite)
    const inherited = { ...process.env };
    delete inherited.DATABASE_URL;
    const child = spawn(process.execPath, [...(options.nodeArgs ?? []), ...(options.profiling ? ['--import', PROFILER_HOOK] : []), main], {
      env: {
        ...inherited,
        ...(db ? { DATABASE_URL: db.url } : {}),
        BERTH_PORT: String(port),
        BERTH_HOST: '127.0.0.1',
        BERTH_DATA_DIR: dataDir,
        BERTH_LOCAL_DOCKER: 'false',
        BERTH_LOG_LEVEL: 'warn',
        NODE_ENV: 'development',
        BERTH_BOOTSTRAP_TOKEN: token,
        // a load generator is one client: the per-token rate limit would measure the limiter, not the gateway
        BERTH_RATE_LIMIT: '100000000',
        ...(profileOut ? { BERTH_BENCH_PROFILE_OUT: profileOut } : {}),
        ...options.env,
      },
      stdio: ['ignore', openSync(logFile, 'w'), 'inherit'],
    });
    const cleanup = async () => {
      await db?.drop().catch(() => undefined);
      await rm(dataDir, { recursive: true, force: true });
    };
    const url = `http://127.0.0.1:${port}`;
    for (let i = 0; i < 240; i++) {
      if (child.exitCode !== null) break;
      if (
        await fetch(`${url}/v1/health`).then(
          (r) => r.ok,
          () => false,
        )
      )
        return new GatewayProcess(child, url, cleanup, profileOut, token, logFile);
      await sleep(250);
    }
    child.kill('SIGKILL');
    await cleanup();
    throw new Error(`the gateway did not answer /v1/health within 60 s (exit code ${child.exitCode}); its log: ${logFile}`);
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Resident memory of the gateway process (VmRSS), in bytes. */
  async rssBytes(): Promise<number> {
    const status = await readFile(`/proc/${this.pid}/status`, 'utf8');
    const kb = /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1];
    if (!kb) throw new Error(`no VmRSS in /proc/${this.pid}/status`);
    return Number(kb) * 1024;
  }

  async request<T = unknown>(method: string, pathname: string, body?: unknown, okStatuses = [200, 201, 202]): Promise<T> {
    const res = await fetch(`${this.url}${pathname}`, {
      method,
      headers: body === undefined ? this.headers : { ...this.headers, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    const parsed: unknown = text ? JSON.parse(text) : undefined;
    if (!okStatuses.includes(res.status)) throw new HttpError(res.status, parsed, `${method} ${pathname}`);
    return parsed as T;
  }

  async graphql<T = unknown>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
    const res = await fetch(`${this.url}/graphql`, {
      method: 'POST',
      headers: { ...this.headers, 'content-type': 'application/json' },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await res.json()) as { data?: T; errors?: unknown[] };
    if (!res.ok || body.errors?.length) throw new HttpError(res.status, body, 'POST /graphql');
    return body.data!;
  }

  /** Starts a CPU profile (needs `profiling`); `stopProfile` returns it. */
  async startProfile(): Promise<void> {
    if (!this.profileOut) throw new Error('the gateway was started without profiling');
    await rm(this.profileOut, { force: true });
    await writeFile(`${this.profileOut}.start`, '');
    for (let i = 0; i < 40 && existsSync(`${this.profileOut}.start`); i++) await sleep(50);
  }

  async stopProfile(): Promise<unknown> {
    if (!this.profileOut) throw new Error('the gateway was started without profiling');
    await writeFile(`${this.profileOut}.stop`, '');
    for (let i = 0; i < 200; i++) {
      await sleep(50);
      const text = await readFile(this.profileOut, 'utf8').catch(() => undefined);
      if (text) return JSON.parse(text) as unknown;
    }
    throw new Error('the gateway wrote no CPU profile within 10 s');
  }

  /** Where the gateway's memory is, as the gateway itself sees it, before and after a full GC (needs `profiling`). */
  async memoryReport(): Promise<{
    before: NodeJS.MemoryUsage;
    memory: NodeJS.MemoryUsage;
    heapSpaces: { space_name: string; space_used_size: number; space_size: number }[];
  }> {
    if (!this.profileOut) throw new Error('the gateway was started without profiling');
    await rm(`${this.profileOut}.mem.json`, { force: true });
    await writeFile(`${this.profileOut}.mem`, '');
    for (let i = 0; i < 100; i++) {
      await sleep(50);
      const text = await readFile(`${this.profileOut}.mem.json`, 'utf8').catch(() => undefined);
      if (text) return JSON.parse(text) as never;
    }
    throw new Error('the gateway wrote no memory report within 5 s');
  }

  /** process.memoryUsage() of the gateway as it is, without a collection (needs `profiling`); undefined when it does not answer within 5 s. */
  async memoryUsage(): Promise<NodeJS.MemoryUsage | undefined> {
    if (!this.profileOut) return undefined;
    await rm(`${this.profileOut}.usage.json`, { force: true });
    await writeFile(`${this.profileOut}.usage`, '');
    for (let i = 0; i < 100; i++) {
      await sleep(50);
      const text = await readFile(`${this.profileOut}.usage.json`, 'utf8').catch(() => undefined);
      if (text) return JSON.parse(text) as NodeJS.MemoryUsage;
    }
    return undefined;
  }

  /** Writes a V8 heap snapshot (needs `profiling`) and returns its path. */
  async heapSnapshot(): Promise<string> {
    if (!this.profileOut) throw new Error('the gateway was started without profiling');
    const file = `${this.profileOut}.heapsnapshot`;
    await rm(file, { force: true });
    await writeFile(`${this.profileOut}.heap`, '');
    for (let i = 0; i < 600 && !existsSync(file); i++) await sleep(100);
    if (!existsSync(file)) throw new Error('the gateway wrote no heap snapshot within 60 s');
    return file;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.child.exitCode === null) {
      const exited = new Promise((resolve) => this.child.once('exit', resolve));
      this.child.kill('SIGTERM');
      await Promise.race([exited, sleep(15_000)]);
      if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    }
    await this.cleanup();
  }
}
