/**
 * Berth's benchmarks: what Berth costs on top of the orchestrators it drives, printed as ratios
 * against the direct path measured in the same run on the same backend. Started by bench.sh, which
 * brings up the backends and builds the gateway first; see README.md.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { NAME_PREFIX, type BenchContext, type Options, SECTIONS, type SectionName } from './context.js';
import { deployBench } from './deploy.bench.js';
import { eventsBench } from './events.bench.js';
import { GatewayProcess } from './gateway.process.js';
import { historyBench } from './history.bench.js';
import { idleRss as measureIdleRss, registerClusters } from './idle-memory.js';
import { KubernetesDirect } from './kubernetes.direct.js';
import { readsBench } from './reads.bench.js';
import { log, renderGoals, renderSection, type SectionResult } from './report.js';
import { mb } from './stats.js';
import { soakBench } from './soak.bench.js';
import { SwarmDirect } from './swarm.direct.js';
import { throughputBench } from './throughput.bench.js';

const USAGE = `usage: bench.sh [options]   (or: node packages/bench/dist/bench.js [options] with the environment bench.sh sets)

  (default)            quick mode: 10 and 100 services, 3 rounds per deploy/rollout, < 10 minutes
  --full               10, 100 and 1,000 services, 5 rounds, longer loads and event runs
  --max-services N     cap the service counts of the read benchmark at N
  --counts A,B,...     exact service counts for the read benchmark
  --only S1,S2         run only these sections (${SECTIONS.join(', ')})
  --skip S1,S2         run every section but these
  --skip-swarm         no Swarm backend (also BERTH_SKIP_SWARM=1)
  --skip-kubernetes    no Kubernetes backend (also BERTH_SKIP_KUBERNETES=1)
  --rounds N           repetitions of each deploy and each rolling update, per path (default 3 and 2; --full 5)
  --history-rows N     rows of operation progress and of metric samples (default 1000000)
  --load-seconds N     autocannon duration per endpoint (default 10)
  --soak-seconds N     duration of the soak's mixed load (default 120; --full 600)
  --no-profile         skip the CPU profiles of the gateway
  --profile-dir DIR    keep the raw CPU profiles there (.cpuprofile, for Chrome DevTools)
  --gateway-env K=V    extra environment for the gateway (repeatable), e.g. BERTH_EVENTS_FLUSH=5ms
  --out FILE           also write every figure as JSON to FILE

environment: DATABASE_URL (a Postgres the bench may create databases on), BERTH_DOCKER_SOCKET,
BERTH_KUBECONFIG (a kubeconfig file; unset skips Kubernetes)`;

function parseOptions(argv: string[]): Options {
  const args = [...argv];
  const value = (flag: string): string => {
    const v = args.shift();
    if (v === undefined) throw new Error(`${flag} needs a value`);
    return v;
  };
  const sectionList = (flag: string, text: string): SectionName[] =>
    text.split(',').map((s) => {
      if (!(SECTIONS as readonly string[]).includes(s)) throw new Error(`${flag}: unknown section "${s}" (expected ${SECTIONS.join(', ')})`);
      return s as SectionName;
    });
  let full = false;
  let maxServices = Infinity;
  let counts: number[] | undefined;
  let only: SectionName[] | undefined;
  let skip: SectionName[] = [];
  let swarm = process.env.BERTH_SKIP_SWARM !== '1';
  let kubernetes = process.env.BERTH_SKIP_KUBERNETES !== '1';
  let rounds: number | undefined;
  let historyRows = 1_000_000;
  let loadSeconds: number | undefined;
  let soakSeconds: number | undefined;
  let profile = true;
  const gatewayEnv: Record<string, string> = {};
  let out: string | undefined;
  let profileDir: string | undefined;
  while (args.length) {
    const flag = args.shift()!;
    switch (flag) {
      case '--full':
        full = true;
        break;
      case '--max-services':
        maxServices = Number(value(flag));
        break;
      case '--counts':
        counts = value(flag).split(',').map(Number);
        break;
      case '--only':
        only = sectionList(flag, value(flag));
        break;
      case '--skip':
        skip = sectionList(flag, value(flag));
        break;
      case '--skip-swarm':
        swarm = false;
        break;
      case '--skip-kubernetes':
        kubernetes = false;
        break;
      case '--rounds':
        rounds = Number(value(flag));
        break;
      case '--history-rows':
        historyRows = Number(value(flag));
        break;
      case '--load-seconds':
        loadSeconds = Number(value(flag));
        break;
      case '--soak-seconds':
        soakSeconds = Number(value(flag));
        break;
      case '--no-profile':
        profile = false;
        break;
      case '--gateway-env': {
        const pair = value(flag);
        const eq = pair.indexOf('=');
        if (eq < 1) throw new Error(`--gateway-env: expected KEY=VALUE, got "${pair}"`);
        gatewayEnv[pair.slice(0, eq)] = pair.slice(eq + 1);
        break;
      }
      case '--profile-dir':
        profileDir = value(flag);
        break;
      case '--out':
        out = value(flag);
        break;
      case '--help':
      case '-h':
        console.log(USAGE);
        process.exit(0);
        break;
      default:
        throw new Error(`unknown option "${flag}"\n\n${USAGE}`);
    }
  }
  const chosenCounts = (counts ?? (full ? [10, 100, 1000] : [10, 100])).filter((c) => c <= maxServices);
  if (!chosenCounts.length || chosenCounts.some((c) => !Number.isInteger(c) || c < 1))
    throw new Error('service counts must be whole numbers >= 1 (check --counts / --max-services)');
  const databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) throw new Error('DATABASE_URL is not set: run the benchmark through packages/bench/bench.sh, which starts Postgres');
  const kubeconfig = process.env.BERTH_KUBECONFIG;
  if (kubernetes && !kubeconfig) {
    log('BERTH_KUBECONFIG is not set: Kubernetes is skipped');
    kubernetes = false;
  }
  return {
    full,
    counts: chosenCounts,
    sections: new Set((only ?? [...SECTIONS]).filter((s) => !skip.includes(s))),
    swarm,
    kubernetes,
    rounds: rounds ?? (full ? 5 : 3),
    rolloutRounds: rounds ?? (full ? 5 : 2),
    historyRows,
    loadSeconds: loadSeconds ?? 10,
    soakSeconds: soakSeconds ?? (full ? 600 : 120),
    profile,
    gatewayEnv,
    ...(out ? { out } : {}),
    ...(profileDir ? { profileDir } : {}),
    databaseUrl,
    dockerSocket: process.env.BERTH_DOCKER_SOCKET ?? '/var/run/docker.sock',
    ...(kubeconfig ? { kubeconfig } : {}),
  };
}

function header(options: Options, runId: string): string {
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    if (execFileSync('git', ['status', '--porcelain'], { encoding: 'utf8' }).trim()) commit += ' (+ uncommitted changes)';
  } catch {
    // not a git checkout
  }
  return [
    `Berth benchmarks, ${options.full ? 'full' : 'quick'} mode, run ${runId}, ${new Date().toISOString()}`,
    `commit ${commit}; node ${process.version}; ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}); load average at start ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
    ...(Object.keys(options.gatewayEnv).length
      ? [
          `gateway environment added: ${Object.entries(options.gatewayEnv)
            .map(([k, v]) => `${k}=${v}`)
            .join(' ')}`,
        ]
      : []),
    `backends: ${[options.swarm ? 'swarm' : '', options.kubernetes ? 'kubernetes' : ''].filter(Boolean).join(', ') || 'none'}; sections: ${[...options.sections].join(', ')}; read counts: ${options.counts.join(', ')}`,
    'Every figure is a median over repeated measurements with its interquartile range; every ratio compares Berth with the direct path measured in the same run, on the same backend.',
    'The machine is shared (2 cores, other test runs): compare ratios, not absolute times, and expect a few percent of noise between runs.',
  ].join('\n');
}

/** Removes whatever this run left on the orchestrators (every name carries the run id). */
async function sweep(ctx: Pick<BenchContext, 'swarm' | 'kubernetes' | 'runId'>): Promise<void> {
  if (ctx.swarm) {
    for (const app of (await ctx.swarm.direct.stacksWithPrefix(NAME_PREFIX)).filter((a) => a.includes(ctx.runId))) {
      log(`clean-up: removing leftover stack ${app}`);
      await ctx.swarm.direct.removeStack(app);
    }
  }
  if (ctx.kubernetes) {
    for (const ns of (await ctx.kubernetes.direct.namespacesWithPrefix(NAME_PREFIX)).filter((n) => n.includes(ctx.runId))) {
      log(`clean-up: removing leftover namespace ${ns}`);
      await ctx.kubernetes.direct.deleteNamespace(ns, false);
    }
  }
}

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2));
  const runId = randomBytes(3).toString('hex');
  console.log(header(options, runId));
  const results: SectionResult[] = [];
  const needsGateway = [...options.sections].some((s) => s !== 'history');
  let gateway: GatewayProcess | undefined;
  let ctx: BenchContext | undefined;
  const print = (r: SectionResult) => {
    results.push(r);
    console.log(renderSection(r));
  };
  try {
    if (needsGateway) {
      log('starting the gateway (apps/gateway/dist/main.js) on a scratch Postgres database');
      gateway = await GatewayProcess.start(options.databaseUrl, { profiling: options.profile, env: options.gatewayEnv });
      ctx = { options, gateway, runId, profiles: [] };
      if (options.swarm) ctx.swarm = { direct: new SwarmDirect(options.dockerSocket), cluster: 'local' };
      if (options.kubernetes) ctx.kubernetes = { direct: new KubernetesDirect(options.kubeconfig!), cluster: 'kube' };
      await registerClusters(ctx, gateway);
    }
    // idle: started, clusters registered, background watchers running, no request for 5 s
    let idleRss = Number.NaN;
    if (gateway) {
      idleRss = await measureIdleRss(gateway);
      log(`gateway idle RSS ${mb(idleRss)}`);
      if (options.profile) ctx!.idleMemory = await gateway.memoryReport().catch(() => undefined);
    }
    const run = async (name: SectionName, fn: () => Promise<SectionResult>) => {
      if (!options.sections.has(name)) return;
      const started = Date.now();
      log(`section ${name}: start`);
      try {
        print(await fn());
      } catch (e) {
        log(`section ${name} failed: ${(e as Error).stack}`);
        print({ title: name, headers: [], rows: [], notes: [`FAILED: ${(e as Error).message}`], goals: [] });
      }
      log(`section ${name}: ${((Date.now() - started) / 1000).toFixed(0)} s`);
    };
    await run('reads', () => readsBench(ctx!));
    await run('deploy', () => deployBench(ctx!));
    await run('events', () => eventsBench(ctx!));
    await run('throughput', () => throughputBench(ctx!, idleRss));
    await run('history', () => historyBench(ctx ?? ({ options, runId, profiles: [] } as unknown as BenchContext)));
    await run('soak', () => soakBench(ctx!));
    for (const r of results) {
      const plans = (r as SectionResult & { plans?: string[] }).plans;
      if (plans?.length) console.log(`\n== Query plans (EXPLAIN ANALYZE, BUFFERS) ==\n${plans.join('\n\n')}`);
    }
    for (const p of ctx?.profiles ?? []) console.log(p);
    console.log(renderGoals(results.flatMap((r) => r.goals)));
    console.log(
      `\nload average at end: ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
    );
  } finally {
    if (ctx) await sweep(ctx).catch((e: unknown) => log(`clean-up failed: ${(e as Error).message}`));
    await gateway?.stop();
    if (options.out) await writeFile(options.out, JSON.stringify({ runId, options: { ...options, sections: [...options.sections] }, results }, null, 2));
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  },
);
