import { setTimeout as sleep } from 'node:timers/promises';
import type { KubernetesObject } from '@kubernetes/client-node';
import { deleteApp, type ChangeResult } from './apps.js';
import type { Backend, BenchContext } from './context.js';
import { KubernetesDirect } from './kubernetes.direct.js';
import { log, section, type SectionResult } from './report.js';
import { ms, now, ratio, seconds, summarize, type Summary, wallMs, withSpread } from './stats.js';

const REPLICAS = 10;
const POLICY = { parallelism: 2, delay: '1s', monitor: '1s', order: 'stop-first', failureAction: 'pause' } as const;
const IMAGES = ['berth-test/http:1', 'berth-test/http:2'] as const;
/** How often the benchmark itself looks at the orchestrator to see convergence. */
const OBSERVE_MS = 100;

const specOf = (app: string) => ({ name: app, services: { web: { image: IMAGES[0], replicas: REPLICAS, update: POLICY } } });

interface PlannedObject {
  action: string;
  kind: string;
  name: string;
  object?: unknown;
}

interface Samples {
  berth: number[];
  /** From Berth's own record: revision + driver call (first follow progress - "started"), following (closed - first follow progress), closed -> HTTP answer. */
  call: number[];
  follow: number[];
  answer: number[];
  /** When the orchestrator had converged during the Berth call, as seen by the benchmark's own observer. */
  berthEngine: number[];
  native: number[];
  /** Berth answered "done" before the orchestrator had converged. */
  early: number;
}

const emptySamples = (): Samples => ({ berth: [], call: [], follow: [], answer: [], berthEngine: [], native: [], early: 0 });

interface OperationRecord {
  finishedAt?: string;
  progress: { time: string; phase: string }[];
}

/** Polls `converged` every OBSERVE_MS from `started`; resolves with the elapsed time when it first holds. */
function observe(converged: () => Promise<boolean>, started: number, signal: AbortSignal): Promise<number> {
  return (async () => {
    while (!signal.aborted) {
      if (await converged().catch(() => false)) return now() - started;
      await sleep(OBSERVE_MS);
    }
    return Number.NaN;
  })();
}

interface Backend2 {
  cluster: string;
  /** Has the service of `app` converged on `image` (all replicas running it, rollout finished)? */
  converged(app: string, image: string): Promise<boolean>;
  /** The native path: writes the planned objects directly. */
  createNative(app: string, objects: PlannedObject[]): Promise<void>;
  updateNative(app: string, image: string): Promise<void>;
  removeNative(app: string): Promise<void>;
}

function swarmBackend(ctx: BenchContext): Backend2 {
  const direct = ctx.swarm!.direct;
  return {
    cluster: ctx.swarm!.cluster,
    async converged(app, image) {
      const c = await direct.convergence(`${app}_web`, image);
      return c.running === REPLICAS && c.updateDone;
    },
    async createNative(_app, objects) {
      for (const o of objects) {
        if (o.action !== 'create') continue;
        if (o.kind === 'network') await direct.docker.createNetwork({ ...(o.object as object), CheckDuplicate: true } as never);
        else if (o.kind === 'service') await direct.docker.createService(o.object as never);
      }
    },
    async updateNative(app, image) {
      // what `docker service update --image` does: read the spec and version, write it back changed
      const s = await direct.requireService(`${app}_web`);
      const spec = structuredClone(s.Spec);
      spec.TaskTemplate.ContainerSpec.Image = image;
      await direct.docker.getService(s.ID).update({ _query: { version: s.Version.Index }, _body: spec } as never);
    },
    removeNative: (app) => direct.removeStack(app),
  };
}

function kubernetesBackend(ctx: BenchContext): Backend2 {
  const direct = ctx.kubernetes!.direct;
  return {
    cluster: ctx.kubernetes!.cluster,
    async converged(app, image) {
      const d = await direct.deployment(app, 'web');
      return d.spec?.template.spec?.containers[0]?.image === image && KubernetesDirect.rolledOut(d);
    },
    createNative: (_app, objects) => direct.create(objects.filter((o) => o.action === 'create').map((o) => o.object as KubernetesObject)),
    updateNative: (app, image) => direct.setImage(app, 'web', image),
    removeNative: (app) => direct.deleteNamespace(app),
  };
}

async function timeBerth(ctx: BenchContext, b: Backend2, app: string, image: string, call: () => Promise<ChangeResult>, samples: Samples): Promise<void> {
  const abort = new AbortController();
  const started = now();
  const engine = observe(() => b.converged(app, image), started, abort.signal);
  const result = await call();
  const elapsed = now() - started;
  const answeredAt = wallMs();
  if (result.operation?.status !== 'succeeded')
    throw new Error(`Berth's operation ended ${result.operation?.status}: ${result.operation?.error ?? result.message}`);
  const convergedAtAnswer = await b.converged(app, image);
  if (!convergedAtAnswer) samples.early += 1;
  const engineMs = await Promise.race([engine, sleep(120_000).then(() => Number.NaN)]);
  abort.abort();
  samples.berth.push(elapsed);
  samples.berthEngine.push(engineMs);
  // where the time went, from the operation's own progress record
  const op = await ctx.gateway.request<OperationRecord>('GET', `/v1/operations/${result.operation.id}`);
  const startedAt = Date.parse(op.progress.find((p) => p.phase === 'started')?.time ?? '');
  const firstFollow = Date.parse(op.progress.find((p) => p.phase !== 'started')?.time ?? '');
  const finishedAt = Date.parse(op.finishedAt ?? '');
  samples.call.push(firstFollow - startedAt);
  samples.follow.push(finishedAt - firstFollow);
  samples.answer.push(answeredAt - finishedAt);
}

async function timeNative(b: Backend2, app: string, image: string, write: () => Promise<void>, samples: Samples): Promise<void> {
  const abort = new AbortController();
  const started = now();
  await write();
  const elapsed = await Promise.race([observe(() => b.converged(app, image), started, abort.signal), sleep(180_000).then(() => Number.NaN)]);
  abort.abort();
  if (!Number.isFinite(elapsed)) throw new Error(`the native path did not converge within 180 s (${app})`);
  samples.native.push(elapsed);
}

async function benchBackend(ctx: BenchContext, backend: Backend): Promise<{ deploy: Samples; rollout: Samples }> {
  const { gateway, options, runId } = ctx;
  const b = backend === 'swarm' ? swarmBackend(ctx) : kubernetesBackend(ctx);
  const deploy = emptySamples();
  const rollout = emptySamples();
  const created: { berth: string[]; native: string[] } = { berth: [], native: [] };
  try {
    let berthApp = '';
    let nativeApp = '';
    for (let r = 0; r < options.rounds; r++) {
      berthApp = `bench-dep-${runId}-b${r}`;
      nativeApp = `bench-dep-${runId}-n${r}`;
      // the native path writes exactly the objects Berth would: the plan for the native app's name
      const plan = await gateway.request<{ objects: PlannedObject[] }>('POST', `/v1/clusters/${b.cluster}/apps/plan`, specOf(nativeApp));
      const berthFirst = r % 2 === 0;
      log(`deploy/${backend}: round ${r + 1}/${options.rounds} (${berthFirst ? 'Berth first' : 'native first'})`);
      const steps = [
        async () => {
          created.berth.push(berthApp);
          const app = berthApp;
          await timeBerth(ctx, b, app, IMAGES[0], () => gateway.request<ChangeResult>('POST', `/v1/clusters/${b.cluster}/apps?wait=true`, specOf(app)), deploy);
        },
        async () => {
          created.native.push(nativeApp);
          await timeNative(b, nativeApp, IMAGES[0], () => b.createNative(nativeApp, plan.objects), deploy);
        },
      ];
      for (const step of berthFirst ? steps : steps.reverse()) await step();
      if (r < options.rounds - 1) {
        await deleteApp(gateway, b.cluster, berthApp);
        await b.removeNative(berthApp);
        await b.removeNative(nativeApp);
      }
    }
    // rolling updates on the last round's two deployments, back and forth between the images
    for (let r = 0; r < options.rolloutRounds; r++) {
      const image = IMAGES[(r + 1) % 2]!;
      log(`deploy/${backend}: rolling update ${r + 1}/${options.rolloutRounds} to ${image}`);
      const steps = [
        () =>
          timeBerth(
            ctx,
            b,
            berthApp,
            image,
            () => gateway.request<ChangeResult>('PATCH', `/v1/clusters/${b.cluster}/apps/${berthApp}/services/web?wait=true`, { image }),
            rollout,
          ),
        () => timeNative(b, nativeApp, image, () => b.updateNative(nativeApp, image), rollout),
      ];
      for (const step of r % 2 === 0 ? steps : steps.reverse()) await step();
    }
  } finally {
    log(`deploy/${backend}: removing what the section created`);
    for (const app of created.berth) {
      await deleteApp(gateway, b.cluster, app);
      await b.removeNative(app);
    }
    for (const app of created.native) await b.removeNative(app);
  }
  return { deploy, rollout };
}

function addRows(result: SectionResult, backend: Backend, what: string, s: Samples): { berth: Summary; native: Summary } {
  const berth = summarize(s.berth);
  const engine = summarize(s.berthEngine.filter(Number.isFinite));
  const native = summarize(s.native);
  const allowance = Math.max(0.05 * native.p50, 200);
  result.rows.push(
    [backend, what, 'native (direct API + observe)', String(native.n), withSpread(native, seconds), '', ''],
    [
      backend,
      what,
      'Berth (?wait=true answered)',
      String(berth.n),
      withSpread(berth, seconds),
      ratio(berth.p50 / native.p50),
      `${((berth.p50 - native.p50) / 1000).toFixed(2)} s (allowed ${(allowance / 1000).toFixed(2)})`,
    ],
    [backend, what, '  orchestrator converged (during Berth call)', String(engine.n), withSpread(engine, seconds), ratio(engine.p50 / native.p50), ''],
  );
  const part = (v: number[]) => withSpread(summarize(v.filter(Number.isFinite)), ms);
  result.notes.push(
    `${backend} ${what}, Berth's own timeline (median ms, IQR): revision + driver call ${part(s.call)}; following the rollout until closed ${part(s.follow)}; closed -> HTTP answer ${part(s.answer)}`,
  );
  if (s.early) result.notes.push(`${backend} ${what}: Berth answered "succeeded" ${s.early} time(s) before the orchestrator had converged`);
  return { berth, native };
}

/** Item 2: time to "converged" for a 10-replica deploy and a rolling update, Berth against the native path. */
export async function deployBench(ctx: BenchContext): Promise<SectionResult> {
  const result = section(
    `2. Deploy and rolling update: ${REPLICAS} replicas; update parallelism ${POLICY.parallelism}, delay ${POLICY.delay}, monitor ${POLICY.monitor}, ${POLICY.order} (seconds)`,
    ['backend', 'what', 'path', 'n', 'median s (IQR)', 'vs native', 'Berth - native'],
  );
  result.notes.push(
    'native: the objects Berth plans for the same spec (POST .../apps/plan for another app name), written straight to the engine / API server, then polled every 100 ms until converged (Swarm: 10 tasks running the image and UpdateStatus completed; Kubernetes: `kubectl rollout status` conditions).',
    'Berth: POST /v1/clusters/:c/apps?wait=true (deploy) and PATCH .../services/web?wait=true (update), timed until the API answers with the operation succeeded; "orchestrator converged" is when the same 100 ms observer saw convergence during that call.',
    'Rounds alternate which path goes first; both deployments run side by side during the rolling updates.',
  );
  const data: Record<string, unknown> = {};
  const backends: Backend[] = [...(ctx.swarm ? (['swarm'] as const) : []), ...(ctx.kubernetes ? (['kubernetes'] as const) : [])];
  for (const backend of backends) {
    try {
      const { deploy, rollout } = await benchBackend(ctx, backend);
      data[backend] = { deploy, rollout };
      for (const [what, samples] of [
        ['deploy', deploy],
        ['rolling update', rollout],
      ] as const) {
        const { berth, native } = addRows(result, backend, what, samples);
        const allowance = Math.max(0.05 * native.p50, 200);
        result.goals.push({
          goal: `${what} ${backend}: within max(5%, 200 ms) of native`,
          measured: `Berth ${seconds(berth.p50)} s vs native ${seconds(native.p50)} s (+${((berth.p50 - native.p50) / 1000).toFixed(2)} s, allowed ${(allowance / 1000).toFixed(2)} s)`,
          met: berth.p50 - native.p50 <= allowance,
        });
      }
    } catch (e) {
      result.notes.push(`${backend}: FAILED: ${(e as Error).message}`);
      log(`deploy/${backend} failed: ${(e as Error).stack}`);
      result.goals.push({
        goal: `deploy and rollout ${backend}: within max(5%, 200 ms) of native`,
        measured: `failed: ${(e as Error).message}`,
        met: undefined,
      });
    }
  }
  result.data = data;
  return result;
}
