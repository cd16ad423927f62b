import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { type BerthClient, type ChangeResult, type Operation, unwrap } from '../client.js';
import { type Column, type Format, Outcome, UsageError, age, serialised, table } from './output.js';

export interface CliContext {
  client: () => BerthClient;
  print: (value: unknown, human: () => string) => void;
  format: () => Format;
  io: { out: (line: string) => void; err: (line: string) => void };
  /** Prints a change, follows it with --wait, and turns a failed outcome into exit code 1. */
  finish: (result: ChangeResult, wait: boolean) => Promise<void>;
  follow: (id: string) => Promise<Operation>;
  specFile: (file: string, compose: boolean) => Promise<object | string>;
}

type Row = Record<string, unknown>;
const int = (name: string) => (value: string) => {
  if (!/^\d+$/.test(value)) throw new UsageError(`${name} must be a whole number, got "${value}"`);
  return Number(value);
};
const collect = (value: string, previous: string[] = []) => [...previous, value];
const replicas = (r: Row) => {
  const x = r.replicas as { desired: number; ready: number } | undefined;
  return x ? `${x.ready}/${x.desired}` : undefined;
};
const ports = (r: Row) =>
  ((r.ports as { target: number; published?: number; protocol: string }[] | undefined) ?? []).map((p) =>
    p.published ? `${p.published}->${p.target}/${p.protocol}` : `${p.target}/${p.protocol}`,
  );

/** The resource commands: docker's noun-verb habit (`berth services ls`), kubectl's output (-o, headers, AGE). */
export function registerResourceCommands(program: Command, ctx: CliContext) {
  const http = () => ctx.client().http;
  /** A list: -o json/yaml print what the API answered, -o name the names, tables say when there is nothing. */
  const list = <T extends Row>(items: T[], columns: Column<T>[], name: (row: T) => string) => {
    const f = ctx.format();
    const text = serialised(items, f, name);
    if (text !== undefined) {
      if (text !== '' || f !== 'name') ctx.io.out(text);
      return;
    }
    if (!items.length) return ctx.io.err('No resources found');
    ctx.io.out(table(items, columns, f === 'wide'));
  };
  const group = (name: string, description: string, alias?: string) => {
    const g = program.command(name).description(description);
    if (alias) g.alias(alias);
    return g;
  };

  // clusters
  const clusters = group('clusters', 'registered clusters: ls, get, add, rm', 'cluster');
  clusters
    .command('ls', { isDefault: true })
    .alias('list')
    .description('list clusters with their health')
    .action(async () => {
      const items = (await ctx.client().clusters()) as Row[];
      list(
        items,
        [
          { header: 'name', cell: (c) => c.name },
          { header: 'kind', cell: (c) => c.kind },
          { header: 'health', cell: (c) => (c.health as { status: string }).status },
          { header: 'version', cell: (c) => c.version },
          { header: 'nodes', cell: (c) => c.nodeCount },
          { header: 'endpoint', cell: (c) => c.endpoint, wide: true },
          { header: 'age', cell: (c) => age(c.createdAt as string) },
        ],
        (c) => `cluster/${String(c.name)}`,
      );
    });
  clusters
    .command('get')
    .description('one cluster with its health, version and nodes, read live')
    .argument('<cluster>')
    .action(async (name: string) => {
      const c = unwrap(await http().GET('/v1/clusters/{cluster}', { params: { path: { cluster: name } } }));
      ctx.print(c, () =>
        [
          `Name:      ${c.name}`,
          `Kind:      ${c.kind}`,
          `Endpoint:  ${c.endpoint}`,
          `Health:    ${c.health.status}${c.health.message ? ` (${c.health.message})` : ''}`,
          `Version:   ${c.version ?? '<none>'}`,
          `Labels:    ${
            Object.entries(c.labels ?? {})
              .map(([k, v]) => `${k}=${v}`)
              .join(',') || '<none>'
          }`,
          'Nodes:',
          table((c.nodes ?? []) as Row[], [
            { header: '  name', cell: (n) => `  ${String(n.name)}` },
            { header: 'role', cell: (n) => n.role },
            { header: 'status', cell: (n) => n.status },
            { header: 'availability', cell: (n) => n.availability },
            { header: 'address', cell: (n) => n.address },
            { header: 'version', cell: (n) => n.version },
          ]),
        ].join('\n'),
      );
    });
  clusters
    .command('add')
    .description('register a cluster: --socket or --host for Swarm, --kubeconfig for Kubernetes')
    .argument('<name>')
    .option('--kind <kind>', 'swarm or kubernetes (default: from the flags given)')
    .option('--socket <path>', 'Swarm: the engine socket')
    .option('--host <url>', 'Swarm: tcp://HOST:PORT')
    .option('--kubeconfig <file>', 'Kubernetes: a kubeconfig file')
    .option('--kube-context <name>', 'Kubernetes: the context of the kubeconfig to use')
    .option('--label <key=value>', 'a label (repeatable)', collect)
    .action(async (name: string, o: { kind?: string; socket?: string; host?: string; kubeconfig?: string; kubeContext?: string; label?: string[] }) => {
      const kind = o.kind ?? (o.kubeconfig ? 'kubernetes' : 'swarm');
      const labels = Object.fromEntries(
        (o.label ?? []).map((l) => {
          const at = l.indexOf('=');
          if (at < 1) throw new UsageError(`--label wants key=value, got "${l}"`);
          return [l.slice(0, at), l.slice(at + 1)];
        }),
      );
      const body = {
        name,
        kind,
        ...(o.label ? { labels } : {}),
        ...(o.socket ? { socketPath: o.socket } : {}),
        ...(o.host ? { host: o.host } : {}),
        ...(o.kubeconfig ? { kubeconfig: await readFile(o.kubeconfig, 'utf8') } : {}),
        ...(o.kubeContext ? { context: o.kubeContext } : {}),
      };
      const c = unwrap(await http().POST('/v1/clusters', { body: body as never }));
      ctx.print(c, () => `cluster/${c.name} registered (${c.kind} ${c.version ?? ''}, ${c.health.status})`);
    });
  clusters
    .command('rm')
    .alias('remove')
    .description('forget a cluster (its workloads keep running)')
    .argument('<cluster>')
    .action(async (name: string) => {
      unwrap(
        await http()
          .DELETE('/v1/clusters/{cluster}', { params: { path: { cluster: name } } })
          .then((r) => ({ ...r, data: r.data ?? {} })),
      );
      ctx.print({ removed: name }, () => `cluster/${name} removed`);
    });

  // apps
  const apps = group('apps', 'apps: ls, get, rm, history, diff (apply and plan are top-level)', 'app');
  apps
    .command('ls')
    .alias('list')
    .argument('<cluster>')
    .action(async (cluster: string) => {
      const { items } = unwrap(await http().GET('/v1/clusters/{cluster}/apps', { params: { path: { cluster } } }));
      list(
        items as Row[],
        [
          { header: 'name', cell: (a) => a.name },
          { header: 'revision', cell: (a) => a.currentRevision },
          { header: 'updated', cell: (a) => age(a.updatedAt as string) },
          { header: 'age', cell: (a) => age(a.createdAt as string) },
        ],
        (a) => `app/${String(a.name)}`,
      );
    });
  apps
    .command('get')
    .description('an app: desired against actual state of each service')
    .argument('<cluster>')
    .argument('<app>')
    .action(async (cluster: string, app: string) => {
      const state = await ctx.client().app(cluster, app);
      ctx.print(state, () =>
        [
          `${state.name} on ${state.cluster}: revision ${state.currentRevision ?? '-'}`,
          table((state.services ?? []) as Row[], [
            { header: 'service', cell: (s) => s.service },
            { header: 'sync', cell: (s) => (s.inSync ? 'in sync' : 'DRIFT') },
            { header: 'image', cell: (s) => (s.actual as Row | undefined)?.image ?? 'missing' },
            { header: 'ready', cell: (s) => replicas((s.actual as Row | undefined) ?? {}) },
            { header: 'rollout', cell: (s) => (s.actual as Row | undefined)?.rollout },
          ]),
        ].join('\n'),
      );
    });
  apps
    .command('rm')
    .alias('remove')
    .description("remove an app's services; its volumes stay unless --volumes")
    .argument('<cluster>')
    .argument('<app>')
    .option('--volumes', "also delete the app's volumes and their data")
    .option('--wait', 'follow the operation to its end')
    .action(async (cluster: string, app: string, o: { volumes?: boolean; wait?: boolean }) => {
      const result = unwrap(
        await http().DELETE('/v1/clusters/{cluster}/apps/{app}', {
          params: { path: { cluster, app }, query: { volumes: o.volumes ? 'true' : undefined } as never },
        }),
      );
      await ctx.finish(result as ChangeResult, !!o.wait);
    });
  apps
    .command('history')
    .description("an app's revisions, newest first: who applied what, from where")
    .argument('<cluster>')
    .argument('<app>')
    .option('--limit <n>', 'how many', int('--limit'), 20)
    .action(async (cluster: string, app: string, o: { limit: number }) => {
      const { items } = unwrap(
        await http().GET('/v1/clusters/{cluster}/apps/{app}/revisions', { params: { path: { cluster, app }, query: { limit: o.limit } as never } }),
      );
      list(
        items as Row[],
        [
          { header: 'revision', cell: (r) => `${String(r.number)}${r.current ? '*' : ''}` },
          { header: 'source', cell: (r) => r.source },
          { header: 'author', cell: (r) => r.author },
          { header: 'age', cell: (r) => age(r.createdAt as string) },
          { header: 'message', cell: (r) => r.message },
          { header: 'hash', cell: (r) => String(r.specHash).slice(0, 12), wide: true },
        ],
        (r) => `revision/${String(r.number)}`,
      );
    });
  apps
    .command('diff')
    .description('what changed between two revisions (default: from the one before <to>; <to> defaults to the current)')
    .argument('<cluster>')
    .argument('<app>')
    .argument('[from]', 'revision number', int('from'))
    .argument('[to]', 'revision number', int('to'))
    .action(async (cluster: string, app: string, from?: number, to?: number) => {
      const diff = unwrap(
        await http().GET('/v1/clusters/{cluster}/apps/{app}/revisions/diff', { params: { path: { cluster, app }, query: { from, to } as never } }),
      );
      ctx.print(diff, () =>
        [
          `revision ${diff.from} -> ${diff.to}: ${diff.changes.length ? `${diff.changes.length} change(s)` : 'no change'}`,
          ...diff.changes.map((c) => `  ${c.path}: ${c.summary}`),
        ].join('\n'),
      );
    });

  // services
  const services = group('services', 'services with discovery data: ls, get, scale, set-image, update, rollback', 'service');
  services
    .command('ls')
    .alias('list')
    .argument('<cluster>')
    .argument('<app>')
    .action(async (cluster: string, app: string) => {
      const { items } = unwrap(await http().GET('/v1/clusters/{cluster}/apps/{app}/services', { params: { path: { cluster, app } } }));
      list(
        items as Row[],
        [
          { header: 'name', cell: (s) => s.service },
          { header: 'mode', cell: (s) => s.mode },
          { header: 'ready', cell: replicas },
          { header: 'image', cell: (s) => s.image },
          { header: 'ports', cell: ports },
          { header: 'dns name', cell: (s) => s.dnsName, wide: true },
          { header: 'virtual ips', cell: (s) => s.virtualIps, wide: true },
          { header: 'rollout', cell: (s) => (s.rollout as Row).state, wide: true },
        ],
        (s) => `service/${String(s.service)}`,
      );
    });
  services
    .command('get')
    .description('a service with its DNS names, virtual IPs, published ports and endpoints')
    .argument('<cluster>')
    .argument('<app>')
    .argument('<service>')
    .action(async (cluster: string, app: string, service: string) => {
      const s = unwrap(await http().GET('/v1/clusters/{cluster}/apps/{app}/services/{service}', { params: { path: { cluster, app, service } } }));
      ctx.print(s, () =>
        [
          `Name:         ${s.service}`,
          `Image:        ${s.image}`,
          `Mode:         ${s.mode}${s.stateful ? ' (stateful)' : ''}`,
          `Replicas:     ${s.replicas.ready}/${s.replicas.desired} ready, ${s.replicas.updated} updated`,
          `DNS name:     ${s.dnsName}`,
          `Aliases:      ${s.aliases.join(', ') || '<none>'}`,
          `Virtual IPs:  ${s.virtualIps.join(', ') || '<none>'}`,
          `Ports:        ${ports(s as unknown as Row).join(', ') || '<none>'}`,
          `Rollout:      ${s.rollout.state}${s.rollout.message ? ` (${String(s.rollout.message)})` : ''}`,
          'Endpoints:',
          table(s.endpoints as unknown as Row[], [
            { header: '  replica', cell: (e) => `  ${replicaName(s.service, String(e.replica))}` },
            { header: 'state', cell: (e) => e.state },
            { header: 'ready', cell: (e) => (e.ready ? 'yes' : 'no') },
            { header: 'address', cell: (e) => e.address },
            { header: 'hostname', cell: (e) => e.hostname },
            { header: 'node', cell: (e) => e.node },
          ]),
        ].join('\n'),
      );
    });
  registerServiceChanges(services, ctx);
  services
    .command('update')
    .description('change a service and roll it with its update policy; only the flags given change')
    .argument('<cluster>')
    .argument('<app>')
    .argument('<service>')
    .option('--image <ref>', 'the image')
    .option('--replicas <n>', 'the replica count', int('--replicas'))
    .option('--env <KEY=VALUE>', 'the environment, replacing it (repeatable)', collect)
    .option('--parallelism <n>', 'update policy: replicas replaced at once (0: all)', int('--parallelism'))
    .option('--delay <duration>', 'update policy: pause between batches (10s)')
    .option('--order <order>', 'update policy: stop-first or start-first')
    .option('--failure-action <action>', 'update policy: pause, continue or rollback')
    .option('--monitor <duration>', 'update policy: how long each new replica is watched')
    .option('--max-failure-ratio <ratio>', 'update policy: failures tolerated, 0 to 1')
    .option('--expected-revision <n>', 'refuse if the app moved on since this revision', int('--expected-revision'))
    .option('--wait', 'follow the rollout to its end')
    .option('--idempotency-key <key>', 'make a retried update act once')
    .action(async (cluster: string, app: string, service: string, o: Record<string, string | number | string[] | boolean | undefined>) => {
      const update = Object.fromEntries(
        Object.entries({
          parallelism: o.parallelism,
          delay: o.delay,
          order: o.order,
          failureAction: o.failureAction,
          monitor: o.monitor,
          maxFailureRatio: o.maxFailureRatio === undefined ? undefined : Number(o.maxFailureRatio),
        }).filter(([, v]) => v !== undefined),
      );
      const env = o.env
        ? Object.fromEntries(
            (o.env as string[]).map((e) => {
              const at = e.indexOf('=');
              if (at < 1) throw new UsageError(`--env wants KEY=VALUE, got "${e}"`);
              return [e.slice(0, at), e.slice(at + 1)];
            }),
          )
        : undefined;
      const patch = Object.fromEntries(
        Object.entries({
          image: o.image,
          replicas: o.replicas,
          env,
          expectedRevision: o.expectedRevision,
          update: Object.keys(update).length ? update : undefined,
        }).filter(([, v]) => v !== undefined),
      );
      if (!Object.keys(patch).length) throw new UsageError('nothing to change: give --image, --replicas, --env or an update policy flag');
      await ctx.finish(await ctx.client().updateService(cluster, app, service, patch, { idempotencyKey: o.idempotencyKey as string | undefined }), !!o.wait);
    });
  services
    .command('rollback')
    .description('roll one service back to its spec of an earlier revision (default: the one before)')
    .argument('<cluster>')
    .argument('<app>')
    .argument('<service>')
    .option('--revision <n>', 'the revision', int('--revision'))
    .option('--wait', 'follow the rollout to its end')
    .action(async (cluster: string, app: string, service: string, o: { revision?: number; wait?: boolean }) => {
      await ctx.finish(await ctx.client().rollback(cluster, app, { revision: o.revision, service }), !!o.wait);
    });

  // jobs
  const jobs = group('jobs', 'run-once jobs: ls, get, run', 'job');
  jobs
    .command('ls')
    .alias('list')
    .argument('<cluster>')
    .option('--app <app>', 'only the jobs of this app')
    .option('--limit <n>', 'how many', int('--limit'), 20)
    .action(async (cluster: string, o: { app?: string; limit: number }) => {
      const { items } = unwrap(
        await http().GET('/v1/clusters/{cluster}/jobs', { params: { path: { cluster }, query: { app: o.app, limit: o.limit } as never } }),
      );
      list(
        items as Row[],
        [
          { header: 'id', cell: (j) => j.id },
          { header: 'app', cell: (j) => j.app },
          { header: 'name', cell: (j) => j.name },
          { header: 'status', cell: (j) => j.status },
          { header: 'exit codes', cell: (j) => (j.runs as { exitCode?: number }[]).map((r) => r.exitCode ?? '-') },
          { header: 'duration', cell: (j) => (j.durationMs === undefined ? undefined : `${Math.round(Number(j.durationMs) / 100) / 10}s`) },
          { header: 'age', cell: (j) => age(j.startedAt as string) },
        ],
        (j) => `job/${String(j.id)}`,
      );
    });
  jobs
    .command('get')
    .description('a job run: its attempts, exit codes and log tail')
    .argument('<cluster>')
    .argument('<id>')
    .action(async (cluster: string, id: string) => {
      const j = unwrap(await http().GET('/v1/clusters/{cluster}/jobs/{id}', { params: { path: { cluster, id } } }));
      ctx.print(j, () =>
        [
          `Job:       ${j.name} (${j.app}), ${j.nativeName}`,
          `Status:    ${j.status}, ${j.succeeded} succeeded, ${j.failed} failed`,
          `Exit codes: ${(j.runs as { exitCode?: number }[]).map((r) => r.exitCode ?? '-').join(', ') || '<none>'}`,
          ...(j.logTail
            ? [
                'Log tail:',
                ...j.logTail
                  .trimEnd()
                  .split('\n')
                  .map((l) => `  ${l}`),
              ]
            : []),
        ].join('\n'),
      );
      if (j.status === 'failed') throw new Outcome(1);
    });
  jobs
    .command('run')
    .description('run a job (JobSpec file, JSON or YAML) and, with --wait, report its exit code')
    .argument('<cluster>')
    .argument('<file>')
    .option('--wait', 'follow it to its end')
    .action(async (cluster: string, file: string, o: { wait?: boolean }) => {
      const { job, operation } = await ctx.client().runJob(cluster, (await ctx.specFile(file, false)) as Record<string, unknown>);
      if (ctx.format() === 'table' || ctx.format() === 'wide') ctx.io.out(`job ${job.id} (${job.nativeName}) started`);
      await ctx.finish({ changed: true, message: 'job', operation, warnings: [] } as unknown as ChangeResult, !!o.wait);
    });

  // volumes
  group('volumes', 'volumes of a cluster: ls', 'volume')
    .command('ls')
    .alias('list')
    .argument('<cluster>')
    .option('--app <app>', 'only the volumes of this app')
    .action(async (cluster: string, o: { app?: string }) => {
      const { items } = unwrap(await http().GET('/v1/clusters/{cluster}/volumes', { params: { path: { cluster }, query: { app: o.app } as never } }));
      list(
        items as Row[],
        [
          { header: 'app', cell: (v) => v.app },
          { header: 'name', cell: (v) => v.name },
          { header: 'kind', cell: (v) => v.kind },
          { header: 'status', cell: (v) => v.status },
          { header: 'size', cell: (v) => v.size },
          { header: 'native name', cell: (v) => v.nativeName, wide: true },
          { header: 'driver', cell: (v) => v.driver ?? v.storageClass, wide: true },
          { header: 'node', cell: (v) => v.node, wide: true },
        ],
        (v) => `volume/${String(v.app)}/${String(v.name)}`,
      );
    });

  // logs and events
  program
    .command('logs')
    .description("a service's log lines from all its replicas, prefixed with the replica")
    .argument('<cluster>')
    .argument('<app>')
    .argument('<service>')
    .option('-f, --follow', 'keep streaming new lines')
    .option('--tail <n>', 'start with the last n lines of each replica', int('--tail'))
    .option('--since <when>', 'only lines since then: 10m (ago) or an RFC 3339 time')
    .option('--timestamps', 'show the time of each line')
    .action(async (cluster: string, app: string, service: string, o: { follow?: boolean; tail?: number; since?: string; timestamps?: boolean }) => {
      const path = `/v1/clusters/${encodeURIComponent(cluster)}/apps/${encodeURIComponent(app)}/services/${encodeURIComponent(service)}/logs`;
      const query = { format: 'ndjson', follow: o.follow ? 'true' : undefined, tail: o.tail?.toString(), since: o.since };
      for await (const l of ctx.client().ndjson<{ time?: string; replica: string; stream: string; line: string }>(path, query)) {
        if (ctx.format() === 'json') ctx.io.out(JSON.stringify(l));
        else ctx.io.out(`${replicaName(service, l.replica)} | ${o.timestamps && l.time ? `${l.time} ` : ''}${l.line}`);
      }
    });
  program
    .command('events')
    .description("the orchestrators' events Berth recorded, newest last; -w keeps watching")
    .option('--cluster <cluster>', 'only this cluster')
    .option('--app <app>', 'only this app')
    .option('--service <service>', 'only this service')
    .option('--kind <kind>', 'only this native kind (service, container, Pod, ...)')
    .option('--action <action>', 'only this action')
    .option('--since <when>', 'only events since then: 10m (ago) or an RFC 3339 time')
    .option('--limit <n>', 'how many of the recorded ones', int('--limit'), 50)
    .option('-w, --watch', 'after the recorded ones, print new events as they happen')
    .action(async (o: { cluster?: string; app?: string; service?: string; kind?: string; action?: string; since?: string; limit: number; watch?: boolean }) => {
      const filter = { cluster: o.cluster, app: o.app, service: o.service, kind: o.kind, action: o.action };
      const { items } = unwrap(await http().GET('/v1/events', { params: { query: { ...filter, since: o.since, limit: o.limit } as never } }));
      const rows = [...(items as Row[])].reverse();
      const columns: Column<Row>[] = [
        { header: 'time', cell: (e) => e.time },
        { header: 'cluster', cell: (e) => e.cluster },
        { header: 'kind', cell: (e) => e.kind },
        { header: 'name', cell: (e) => e.name },
        { header: 'action', cell: (e) => e.action },
        { header: 'message', cell: (e) => e.message },
      ];
      const line = (e: Row) => (ctx.format() === 'json' ? JSON.stringify(e) : columns.map((c) => String(c.cell(e) ?? '')).join('  '));
      if (!o.watch) return list(rows, columns, (e) => `event/${String(e.id)}`);
      for (const e of rows) ctx.io.out(line(e));
      const after = rows.length ? String(rows[rows.length - 1]!.id) : undefined;
      for await (const event of ctx.client().events('/v1/events/stream', { ...filter, after })) {
        if (event.event === 'cluster-event') ctx.io.out(line(JSON.parse(event.data) as Row));
      }
    });

  // tokens and audit
  const tokens = group('tokens', 'API tokens: ls, create, revoke (admins)', 'token');
  tokens
    .command('ls')
    .alias('list')
    .action(async () => {
      const { items } = unwrap(await http().GET('/v1/tokens'));
      list(
        items as Row[],
        [
          { header: 'id', cell: (t) => t.id },
          { header: 'name', cell: (t) => t.name },
          { header: 'grants', cell: (t) => (t.grants as Row[]).map(grantText) },
          { header: 'expires', cell: (t) => t.expiresAt },
          { header: 'last used', cell: (t) => (t.lastUsedAt ? age(t.lastUsedAt as string) : undefined) },
          { header: 'revoked', cell: (t) => (t.revokedAt ? 'yes' : '') },
        ],
        (t) => `token/${String(t.name)}`,
      );
    });
  tokens
    .command('create')
    .description('create a token; its secret is printed once, on stdout alone, for a pipe')
    .argument('<name>')
    .requiredOption('--grant <role[:cluster[:app]]>', 'viewer, deployer, operator or admin, on every cluster or one, every app or one (repeatable)', collect)
    .option('--expires-at <time>', 'when it stops working (RFC 3339)')
    .action(async (name: string, o: { grant: string[]; expiresAt?: string }) => {
      const grants = o.grant.map((g) => {
        const [role, cluster, app] = g.split(':');
        return { role, ...(cluster && cluster !== '*' ? { cluster } : {}), ...(app && app !== '*' ? { app } : {}) };
      });
      const t = unwrap(await http().POST('/v1/tokens', { body: { name, grants, ...(o.expiresAt ? { expiresAt: o.expiresAt } : {}) } as never }));
      ctx.print(t, () => String(t.token));
      if (ctx.format() === 'table') ctx.io.err(`token ${t.name} (${t.id}) created; it is not shown again`);
    });
  tokens
    .command('revoke')
    .argument('<id>')
    .action(async (id: string) => {
      const t = unwrap(await http().DELETE('/v1/tokens/{id}', { params: { path: { id } } }));
      ctx.print(t, () => `token/${String((t as Row).name ?? id)} revoked`);
    });
  program
    .command('audit')
    .description('who did what, when, and how it ended; newest first (admins)')
    .option('--actor <actor>', 'only this actor (token:NAME)')
    .option('--action <action>', 'only this action')
    .option('--since <when>', 'only entries since then (RFC 3339)')
    .option('--limit <n>', 'how many', int('--limit'), 50)
    .action(async (o: { actor?: string; action?: string; since?: string; limit: number }) => {
      const { items } = unwrap(
        await http().GET('/v1/audit', { params: { query: { actor: o.actor, action: o.action, since: o.since, limit: o.limit } as never } }),
      );
      list(
        items as Row[],
        [
          { header: 'time', cell: (a) => a.time },
          { header: 'actor', cell: (a) => a.actor },
          { header: 'action', cell: (a) => a.action },
          { header: 'target', cell: (a) => a.target },
          { header: 'result', cell: (a) => a.result },
          { header: 'correlation id', cell: (a) => a.correlationId, wide: true },
        ],
        (a) => `audit/${String(a.id)}`,
      );
    });
}

/** As docker prints replicas: SERVICE.SLOT for a Swarm slot; a pod name (Kubernetes) or node (global service) as it is. */
const replicaName = (service: string, replica: string) => (/^\d+$/.test(replica) ? `${service}.${replica}` : replica);

const grantText = (g: Row) => [g.role, g.cluster ?? '*', g.app ?? '*'].join(':');

/** scale and set-image: top-level (as before) and under `services`. */
export function registerServiceChanges(parent: Command, ctx: CliContext) {
  parent
    .command('scale')
    .description('set the replica count of a service')
    .argument('<cluster>')
    .argument('<app>')
    .argument('<service>')
    .argument('<replicas>', 'the replica count', int('replicas'))
    .option('--wait', 'follow the operation to its end')
    .option('--idempotency-key <key>', 'make a retried scale act once')
    .action(async (cluster: string, app: string, service: string, replicas: number, o: { wait?: boolean; idempotencyKey?: string }) => {
      await ctx.finish(await ctx.client().scale(cluster, app, service, replicas, { idempotencyKey: o.idempotencyKey }), !!o.wait);
    });
  parent
    .command('set-image')
    .description('roll a service to a new image with its update policy')
    .argument('<cluster>')
    .argument('<app>')
    .argument('<service>')
    .argument('<image>')
    .option('--wait', 'follow the rollout to its end')
    .option('--expected-revision <n>', 'refuse if the app moved on since this revision', int('--expected-revision'))
    .option('--idempotency-key <key>', 'make a retried rollout act once')
    .action(async (cluster: string, app: string, service: string, image: string, o: { wait?: boolean; expectedRevision?: number; idempotencyKey?: string }) => {
      const patch = { image, ...(o.expectedRevision ? { expectedRevision: o.expectedRevision } : {}) };
      await ctx.finish(await ctx.client().updateService(cluster, app, service, patch, { idempotencyKey: o.idempotencyKey }), !!o.wait);
    });
}
