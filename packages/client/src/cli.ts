#!/usr/bin/env node
/**
 * berth: the Berth API for scripts and build pipelines.
 *   BERTH_URL (default http://127.0.0.1:8080) and BERTH_TOKEN select the gateway.
 * Exit codes: 0 done; 1 the operation failed, rolled back or paused; 2 the request was refused
 * (bad input, not found, conflict, no access); 3 the gateway or the cluster could not answer.
 */
import { readFile } from 'node:fs/promises';
import { Command, CommanderError } from 'commander';
import { parse as parseYaml } from 'yaml';
import { BerthApiError, type ChangeResult, type Operation, createBerthClient } from './client.js';
import { type ComposeFlags, composeAppName, composeRequest, reportTable } from './compose-project.js';

export interface Io {
  out: (line: string) => void;
  err: (line: string) => void;
  env: Record<string, string | undefined>;
}

class Outcome extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

const FAILED = new Set(['failed', 'rolled_back', 'paused', 'cancelled']);

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
  const token = io.env.BERTH_TOKEN;
  const client = () => {
    if (!token) {
      io.err('berth: set BERTH_TOKEN to an API token (and BERTH_URL to the gateway)');
      throw new Outcome(2);
    }
    return createBerthClient({ baseUrl: io.env.BERTH_URL ?? 'http://127.0.0.1:8080', token });
  };
  let json = false;
  const print = (value: unknown, human: () => string) => io.out(json ? JSON.stringify(value, null, 2) : human());
  const progressLine = (p: NonNullable<Operation['progress']>[number]) =>
    `  ${p.time} ${p.service ? `${p.service}: ` : ''}${p.phase}${p.replicasTotal !== undefined ? ` ${p.replicasUpdated ?? p.replicasReady ?? 0}/${p.replicasTotal}` : ''}${p.batchesTotal ? ` batch ${p.batchesDone}/${p.batchesTotal}` : ''}${p.message ? ` - ${p.message}` : ''}`;

  /** Prints a change, follows it when asked, and turns its outcome into the exit code. */
  const finish = async (result: ChangeResult, wait: boolean) => {
    if (!result.changed || !result.operation) {
      print(result, () => result.message);
      return;
    }
    for (const w of result.warnings ?? []) io.err(`warning: ${w.path}: ${w.message}`);
    let op = result.operation as Operation;
    if (!json) io.out(`operation ${op.id}: ${op.kind} ${op.status}${result.revision ? ` (revision ${result.revision})` : ''}`);
    if (wait && (op.status === 'running' || op.status === 'pending')) {
      op = await client().waitFor(op.id, { onProgress: (p) => !json && io.out(progressLine(p)) });
    }
    print(op, () => `operation ${op.id}: ${op.status}${op.error ? ` - ${op.error}` : ''}`);
    if (FAILED.has(op.status)) throw new Outcome(1);
  };

  const program = new Command('berth')
    .description('Deploy and operate services on Docker Swarm and Kubernetes through Berth')
    .option('--json', 'print JSON instead of text')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) })
    .hook('preAction', (cmd) => {
      json = !!cmd.opts().json;
    });

  program
    .command('clusters')
    .description('list clusters with their health')
    .action(async () => {
      const items = await client().clusters();
      print(items, () => items.map((c) => `${c.name}\t${c.kind}\t${c.health.status}\t${c.version ?? ''}`).join('\n'));
    });

  const collect = (value: string, previous: string[] = []) => [...previous, value];
  const isComposeFile = (file: string, flag?: boolean) => !!flag || (/\.ya?ml$/.test(file) && /(^|\/)(docker-)?compose/.test(file));
  /** A Compose file with everything docker compose reads beside it, or an AppSpec. */
  const input = async (file: string, compose: boolean, flags: ComposeFlags): Promise<object> => {
    const spec = await specFile(file, compose);
    return typeof spec === 'string' ? composeRequest(spec, file, flags, io.env) : spec;
  };

  /** The Compose import flags of apply, plan and convert. */
  const composeCommand = (name: string) =>
    program
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

  composeCommand('convert')
    .description('show what a Compose file becomes: each key carried, approximated or dropped, on Swarm and on Kubernetes; deploys nothing')
    .argument('<file>', 'the Compose file ("-" reads stdin)')
    .option('--name <app>', 'app name')
    .option('-o, --output <format>', 'table or json', 'table')
    .action(async (file: string, o: ComposeFlags & { output: string }) => {
      const result = await client().convertCompose((await input(file, true, o)) as never);
      if (o.output === 'json' || json) io.out(JSON.stringify(result, null, 2));
      else io.out(reportTable(result.report));
    });

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
    .command('scale')
    .argument('<cluster>')
    .argument('<app>')
    .argument('<service>')
    .argument('<replicas>')
    .option('--wait')
    .option('--idempotency-key <key>')
    .action(async (cluster: string, app: string, service: string, replicas: string, o: { wait?: boolean; idempotencyKey?: string }) => {
      await finish(await client().scale(cluster, app, service, Number(replicas), { idempotencyKey: o.idempotencyKey }), !!o.wait);
    });

  program
    .command('set-image')
    .description('roll a service to a new image with its update policy')
    .argument('<cluster>')
    .argument('<app>')
    .argument('<service>')
    .argument('<image>')
    .option('--wait')
    .option('--expected-revision <n>', 'refuse if the app moved on since this revision')
    .option('--idempotency-key <key>')
    .action(async (cluster: string, app: string, service: string, image: string, o: { wait?: boolean; expectedRevision?: string; idempotencyKey?: string }) => {
      const patch = { image, ...(o.expectedRevision ? { expectedRevision: Number(o.expectedRevision) } : {}) };
      await finish(await client().updateService(cluster, app, service, patch, { idempotencyKey: o.idempotencyKey }), !!o.wait);
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
      if (!json) io.out(`job ${job.id} (${job.nativeName}) started`);
      await finish({ changed: true, message: 'job', operation, warnings: [] } as ChangeResult, !!o.wait);
    });

  program
    .command('wait')
    .description('follow an operation to its end')
    .argument('<operation>')
    .action(async (id: string) => {
      const op = await client().waitFor(id, { onProgress: (p) => !json && io.out(progressLine(p)) });
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

  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof Outcome) return e.code;
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    if (e instanceof BerthApiError) {
      io.err(`berth: ${e.status} ${e.code}: ${e.message}`);
      for (const d of e.details) io.err(`  ${d.path}: ${d.message}`);
      return e.status >= 500 ? 3 : 2;
    }
    const err = e as NodeJS.ErrnoException;
    io.err(
      `berth: ${err.code === 'ENOENT' ? `no such file: ${err.path}` : err.cause ? `cannot reach the gateway: ${String((err.cause as Error).message ?? err.cause)}` : err.message}`,
    );
    return err.code === 'ENOENT' ? 2 : 3;
  }
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('/berth')) {
  process.exitCode = await main(process.argv.slice(2), { out: (l) => console.log(l), err: (l) => console.error(l), env: process.env });
}
