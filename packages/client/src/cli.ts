#!/usr/bin/env node
/**
 * berth: the Berth API for scripts and build pipelines.
 *   The gateway and token come from --server/--token, else BERTH_URL/BERTH_TOKEN, else the current
 *   context of the config file (berth config --help); the default server is http://127.0.0.1:8080.
 * Exit codes: 0 done; 1 the operation failed, rolled back or paused; 2 the request was refused
 * (bad input, not found, conflict, no access); 3 the gateway or the cluster could not answer.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { Command, CommanderError, Option } from 'commander';
import { parse as parseYaml } from 'yaml';
import { BerthApiError, type BerthClient, type ChangeResult, type Operation, createBerthClient } from './client.js';
import { type ComposeFlags, composeAppName, composeRequest, reportTable } from './compose-project.js';
import { configPath, loadConfig, resolveTarget } from './cli/config.js';
import { FORMATS, type Format, Outcome, UsageError, durationMs, formatOf, serialised } from './cli/output.js';
import { registerResourceCommands, registerServiceChanges } from './cli/resources.js';
import { registerConfigCommands } from './cli/config-commands.js';
import { completionScript } from './cli/completion.js';

const VERSION = (createRequire(import.meta.url)('../package.json') as { version: string }).version;

export interface Io {
  out: (line: string) => void;
  err: (line: string) => void;
  env: Record<string, string | undefined>;
  /** On a terminal: rewrites one status line in place (progress of long waits); absent in a pipe. */
  status?: (line: string) => void;
}

export const FAILED = new Set(['failed', 'rolled_back', 'paused', 'cancelled']);

/** Reads a spec file: a Compose file (YAML text, sent as is) or an AppSpec / JobSpec (JSON or YAML). */
async function specFile(file: string, compose: boolean): Promise<object | string> {
  const text = file === '-' ? await readStdin() : await readFile(file, 'utf8');
  if (compose) return text;
  return file.endsWith('.json') ? (JSON.parse(text) as object) : (parseYaml(text) as object);
}

export { composeAppName };

async function readStdin(): Promise<string> {
  let text = '';
  for await (const chunk of process.stdin) text += String(chunk);
  return text;
}

export async function main(argv: string[], io: Io): Promise<number> {
  let format: Format = 'table';
  let globals: { server?: string; token?: string; context?: string; timeout?: string } = {};
  let cached: BerthClient | undefined;
  const client = () => {
    if (cached) return cached;
    throw new UsageError('no client');
  };
  /** Resolves the gateway and token once per command, before its action runs. */
  const connect = async () => {
    const target = resolveTarget(await loadConfig(configPath(io.env)), globals, io.env);
    if (!target.token) throw new UsageError('no token: give --token, set BERTH_TOKEN, or add one to a context (berth config set-context)');
    cached = createBerthClient({ baseUrl: target.server, token: target.token });
  };
  const json = () => format === 'json';
  const print = (value: unknown, human: () => string) => io.out(serialised(value, format) ?? human());
  const timeoutMs = () => (globals.timeout ? durationMs(globals.timeout) : undefined);
  const progressLine = (p: NonNullable<Operation['progress']>[number]) =>
    `  ${p.time} ${p.service ? `${p.service}: ` : ''}${p.phase}${p.replicasTotal !== undefined ? ` ${p.replicasUpdated ?? p.replicasReady ?? 0}/${p.replicasTotal}` : ''}${p.batchesTotal ? ` batch ${p.batchesDone}/${p.batchesTotal}` : ''}${p.message ? ` - ${p.message}` : ''}`;
  /** On a terminal, one line rewritten in place (batches done / total, replicas ready); in a pipe, a line per step. */
  const showProgress = (p: NonNullable<Operation['progress']>[number]) => {
    if (json() || format === 'yaml') return;
    if (!io.status) return io.out(progressLine(p));
    const bar = p.batchesTotal
      ? `[${'#'.repeat(p.batchesDone ?? 0)}${'.'.repeat(Math.max(0, p.batchesTotal - (p.batchesDone ?? 0)))}] batch ${p.batchesDone}/${p.batchesTotal}`
      : '';
    const replicas = p.replicasTotal !== undefined ? `replicas ready ${p.replicasReady ?? 0}/${p.replicasTotal}` : '';
    io.status([p.service, p.phase, bar, replicas, p.message].filter(Boolean).join('  '));
  };
  const follow = async (id: string) => {
    const op = await client().waitFor(id, { timeoutMs: timeoutMs(), onProgress: showProgress });
    io.status?.('');
    return op;
  };

  /** Prints a change, follows it when asked, and turns its outcome into the exit code. */
  const finish = async (result: ChangeResult, wait: boolean) => {
    if (!result.changed || !result.operation) {
      print(result, () => result.message);
      return;
    }
    for (const w of result.warnings ?? []) io.err(`warning: ${w.path}: ${w.message}`);
    let op = result.operation as Operation;
    if (format === 'table' || format === 'wide')
      io.out(`operation ${op.id}: ${op.kind} ${op.status}${result.revision ? ` (revision ${result.revision})` : ''}`);
    if (wait && (op.status === 'running' || op.status === 'pending')) op = await follow(op.id);
    print(op, () => `operation ${op.id}: ${op.status}${op.error ? ` - ${op.error}` : ''}`);
    if (FAILED.has(op.status)) throw new Outcome(1);
  };

  const program = new Command('berth')
    .description('Deploy and operate services on Docker Swarm and Kubernetes through Berth')
    .version(VERSION, '-v, --version', 'print the CLI version')
    .addOption(new Option('-o, --output <format>', 'output format').choices([...FORMATS]))
    .option('--json', 'the same as -o json')
    .option('-s, --server <url>', 'the gateway (default: BERTH_URL, the current context, http://127.0.0.1:8080)')
    .option('--token <token>', 'the API token (default: BERTH_TOKEN, the current context)')
    .option('--context <name>', 'use this context of the config file')
    .option('--timeout <duration>', 'give up waiting after this long (90s, 5m, 1h; default 30m)')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) })
    .hook('preAction', async (_, action) => {
      const o = program.opts<{ output?: string; json?: boolean; server?: string; token?: string; context?: string; timeout?: string }>();
      format = formatOf(o.output, !!o.json);
      globals = { server: o.server, token: o.token, context: o.context, timeout: o.timeout };
      if (globals.timeout) durationMs(globals.timeout);
      // commands that only read or write the local config need no gateway
      let root: Command | null = action;
      while (root?.parent && root.parent !== program) root = root.parent;
      if (root && !['config', 'completion'].includes(root.name())) await connect();
    });

  const collect = (value: string, previous: string[] = []) => [...previous, value];
  const isComposeFile = (file: string, flag?: boolean) => !!flag || (/\.ya?ml$/.test(file) && /(^|\/)(docker-)?compose/.test(file));
  /** A Compose file with everything docker compose reads beside it, or an AppSpec. */
  const input = async (file: string, compose: boolean, flags: ComposeFlags): Promise<object> => {
    const spec = await specFile(file, compose);
    return typeof spec === 'string' ? composeRequest(spec, file, flags, io.env) : spec;
  };

  /** The Compose import flags of apply, plan and convert. */
  const composeCommand = (name: string, parent: Command = program) =>
    parent
      .command(name)
      .option('--profile <profile>', 'Compose: enable a profile (repeatable)', collect)
      .option('--image <service=ref>', 'Compose: the image of a build-only service (repeatable)', collect);

  composeCommand('apply')
    .description(
      'apply an AppSpec (JSON/YAML) or, with --compose, a Compose file ("-" reads stdin); what docker compose reads beside it (.env, env_file, extends, secret files, relative paths) is read here',
    )
    .argument('<cluster>')
    .argument('<file>')
    .option('--compose', 'the file is a Compose file')
    .option('--name <app>', 'app name (a Compose file without a top-level "name" is named after its folder, as docker compose does)')
    .option('--wait', 'follow the operation to its end')
    .option('--idempotency-key <key>', 'make a retried apply act once')
    .action(async (cluster: string, file: string, o: ComposeFlags & { compose?: boolean; wait?: boolean; idempotencyKey?: string }) => {
      const body = await input(file, isComposeFile(file, o.compose), o);
      await finish(await client().apply(cluster, body, { name: 'compose' in body ? undefined : o.name, idempotencyKey: o.idempotencyKey }), !!o.wait);
    });

  const compose = program.command('compose').description('Compose files: convert');
  for (const parent of [program, compose]) {
    composeCommand('convert', parent)
      .description('show what a Compose file becomes: each key carried, approximated or dropped, on Swarm and on Kubernetes; deploys nothing')
      .argument('<file>', 'the Compose file ("-" reads stdin)')
      .option('--name <app>', 'app name')
      .action(async (file: string, o: ComposeFlags) => {
        const result = await client().convertCompose((await input(file, true, o)) as never);
        print(result, () => reportTable(result.report));
      });
  }

  composeCommand('plan')
    .description("show what applying would change, without changing anything; for a Compose file, what each key becomes on the cluster's orchestrator")
    .argument('<cluster>')
    .argument('<file>')
    .option('--compose', 'the file is a Compose file')
    .option('--name <app>', 'app name (a Compose file without a top-level "name" is named after its folder)')
    .action(async (cluster: string, file: string, o: ComposeFlags & { compose?: boolean }) => {
      const body = await input(file, isComposeFile(file, o.compose), o);
      const plan = await client().plan(cluster, body, 'compose' in body ? undefined : o.name);
      print(plan, () =>
        [
          `${plan.app}: ${plan.changed ? 'changes' : 'no change'}`,
          ...plan.objects.map(
            (x) => `  ${x.action}\t${x.kind}\t${x.name}${x.changes.length && x.action === 'update' ? `\t${x.changes.map((c) => c.path).join(', ')}` : ''}`,
          ),
          ...(plan.report ? [] : [...plan.warnings, ...plan.importWarnings].map((w) => `  warning: ${w.path}: ${w.message}`)),
          ...plan.policy.violations.map((v) => `  ${plan.policy.bypass ? 'policy (admin bypass)' : 'REFUSED by policy'}: ${v.path}: ${v.message} [${v.rule}]`),
          ...(plan.report ? ['', reportTable(plan.report)] : []),
        ].join('\n'),
      );
    });

  const policy = program.command('policy').description("a cluster's workload policy: what tokens below cluster admin may give a workload");
  policy
    .command('get')
    .argument('<cluster>')
    .action(async (cluster: string) => {
      const view = await client().policy(cluster);
      print(
        view,
        () =>
          `${view.cluster}: ${view.isDefault ? 'default policy' : `set by ${view.updatedBy} at ${view.updatedAt}`}\n${JSON.stringify(view.policy, null, 2)}`,
      );
    });
  policy
    .command('set')
    .description('replace the policy with the one in <file> (JSON or YAML; "-" reads stdin; {} restores the default)')
    .argument('<cluster>')
    .argument('<file>')
    .action(async (cluster: string, file: string) => {
      const view = await client().setPolicy(cluster, (await specFile(file, false)) as object);
      print(view, () => `${view.cluster}: policy set by ${view.updatedBy}`);
    });

  program
    .command('status')
    .description('desired against actual state of an app')
    .argument('<cluster>')
    .argument('<app>')
    .action(async (cluster: string, app: string) => {
      const state = await client().app(cluster, app);
      print(state, () =>
        [
          `${state.name} on ${state.cluster}: revision ${state.currentRevision ?? '-'}`,
          ...(state.services ?? []).map(
            (s) =>
              `  ${s.service}\t${s.inSync ? 'in sync' : 'DRIFT'}\t${s.actual ? `${s.actual.image} ${JSON.stringify(s.actual.replicas)} ${s.actual.rollout}` : 'missing'}`,
          ),
        ].join('\n'),
      );
    });

  program
    .command('rollback')
    .description('roll an app (or one service) back to an earlier revision (default: the previous one)')
    .argument('<cluster>')
    .argument('<app>')
    .option('--revision <n>')
    .option('--service <name>')
    .option('--wait')
    .action(async (cluster: string, app: string, o: { revision?: string; service?: string; wait?: boolean }) => {
      await finish(await client().rollback(cluster, app, { revision: o.revision ? Number(o.revision) : undefined, service: o.service }), !!o.wait);
    });

  program
    .command('run-job')
    .description('run a job (JobSpec file, JSON or YAML) to completion')
    .argument('<cluster>')
    .argument('<file>')
    .option('--wait')
    .action(async (cluster: string, file: string, o: { wait?: boolean }) => {
      const { job, operation } = await client().runJob(cluster, (await specFile(file, false)) as Record<string, unknown>);
      if (!json()) io.out(`job ${job.id} (${job.nativeName}) started`);
      await finish({ changed: true, message: 'job', operation, warnings: [] } as ChangeResult, !!o.wait);
    });

  program
    .command('wait')
    .description('follow an operation to its end')
    .argument('<operation>')
    .action(async (id: string) => {
      const op = await follow(id);
      print(op, () => `operation ${op.id}: ${op.status}${op.error ? ` - ${op.error}` : ''}`);
      if (FAILED.has(op.status)) throw new Outcome(1);
    });

  program
    .command('ops')
    .description('operation history, newest first')
    .option('--cluster <name>')
    .option('--app <name>')
    .option('--status <status>')
    .option('--limit <n>', 'how many', '20')
    .action(async (o: { cluster?: string; app?: string; status?: string; limit: string }) => {
      const { items } = await client().operations({ cluster: o.cluster, app: o.app, status: o.status, limit: Number(o.limit) });
      print(items, () =>
        items
          .map(
            (x) =>
              `${x.createdAt}\t${x.id}\t${x.kind}\t${x.status}\t${x.app ?? ''}${x.service ? `/${x.service}` : ''}\t${x.fromRevision ?? '-'}->${x.toRevision ?? '-'}\t${x.requester}${x.error ? `\t${x.error}` : ''}`,
          )
          .join('\n'),
      );
    });

  const context = { client, print, format: () => format, io, finish, follow, specFile };
  registerServiceChanges(program, context);
  registerResourceCommands(program, context);
  registerConfigCommands(program, io, () => format);
  program
    .command('completion')
    .description('print a completion script: source <(berth completion bash), or berth completion zsh > "${fpath[1]}/_berth"')
    .argument('<shell>', 'bash or zsh')
    .action((shell: string) => {
      if (!['bash', 'zsh'].includes(shell)) throw new UsageError(`no completion for "${shell}": use bash or zsh`);
      io.out(completionScript(program, shell));
    });

  /** Errors as the user reads them: a line on stderr, or under -o json the API's error object on stdout. */
  const fail = (code: number, error: { status?: number; code: string; message: string; details?: { path: string; message: string }[] }, text: string[]) => {
    if (json()) io.out(JSON.stringify({ error }, null, 2));
    else for (const line of text) io.err(line);
    return code;
  };
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    io.status?.('');
    if (e instanceof Outcome) return e.code;
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    if (e instanceof UsageError) return fail(2, { code: 'USAGE', message: e.message }, [`berth: ${e.message}`]);
    if (e instanceof BerthApiError) {
      return fail(e.status >= 500 ? 3 : 2, { status: e.status, code: e.code, message: e.message, details: e.details }, [
        `berth: ${e.status} ${e.code}: ${e.message}`,
        ...e.details.map((d) => `  ${d.path}: ${d.message}`),
      ]);
    }
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT') return fail(2, { code: 'NO_SUCH_FILE', message: `no such file: ${err.path}` }, [`berth: no such file: ${err.path}`]);
    const message = err.cause ? `cannot reach the gateway: ${String((err.cause as Error).message ?? err.cause)}` : err.message;
    return fail(3, { code: 'UNREACHABLE', message }, [`berth: ${message}`]);
  }
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('/berth')) {
  const status = process.stderr.isTTY ? (line: string) => process.stderr.write(`\r\x1b[K${line.slice(0, (process.stderr.columns ?? 80) - 1)}`) : undefined;
  process.exitCode = await main(process.argv.slice(2), { out: (l) => console.log(l), err: (l) => console.error(l), env: process.env, status });
}
