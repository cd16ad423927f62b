import { Inject, Injectable } from '@nestjs/common';
import type { App, Cluster, PrismaClient, Revision, RevisionSource } from '@berth/db';
import { type OrchestratorDriver, type Plan, type ReadOptions, type ServiceStatus, fieldChanges } from '@berth/driver';
import {
  AppSpec,
  type ComposeImport,
  type ComposeImportOptions,
  type ComposeReport,
  type ComposeWarning,
  importCompose,
  parseOrThrow,
  specHash,
  withOrchestratorWarnings,
} from '@berth/model';
import type { Caller } from '../common/caller.js';
import { BerthError } from '../common/errors.js';
import { TtlCache } from '../common/ttl-cache.js';
import { RecentChanges } from '../changes/recent-changes.js';
import { type ObservationView, oldestObservation } from '../common/read-consistency.js';
import { requestContext } from '../common/request-context.js';
import { visibleApps } from '../auth/access.js';
import { PRISMA } from '../database/database.module.js';
import { ClustersService } from '../clusters/clusters.service.js';
import { type AppChange, ChangePipeline, type ChangeResult } from '../changes/change-pipeline.service.js';
import { AppSecretsService } from '../secrets/app-secrets.service.js';
import { type PolicyReview, WorkloadPolicyService } from '../policy/workload-policy.service.js';

export interface ApplyInput {
  /** An AppSpec (JSON), or */
  spec?: unknown;
  /** a Compose file, with the app name when the file has none. */
  compose?: string;
  name?: string;
  /** Import options of the Compose file (base folder, profiles, images per service). */
  composeOptions?: Omit<ComposeImportOptions, 'name'>;
}

export interface RevisionView {
  number: number;
  specHash: string;
  source: RevisionSource;
  author: string;
  message?: string;
  warnings: ComposeWarning[];
  createdAt: string;
  current: boolean;
  spec?: AppSpec;
}

/** How long a read trusts an app row it has read (see `appRow`): as long as a cluster row or a token. */
export const APP_ROW_TTL_MS = 5_000;

export interface ServiceState {
  service: string;
  desired?: { image: string; replicas: number; mode: string };
  actual?: { image: string; replicas: ServiceStatus['replicas']; rollout: ServiceStatus['rollout']['state'] };
  /** The orchestrator runs exactly the current revision's spec for this service. */
  inSync: boolean;
}

export interface AppView {
  name: string;
  cluster: string;
  currentRevision?: number;
  createdAt: string;
  updatedAt: string;
  deleted: boolean;
  spec?: AppSpec;
  services?: ServiceState[];
  /** Where the actual state came from and how old it is (the oldest of its services'). */
  observed?: ObservationView;
}

export interface AppContext {
  cluster: Cluster;
  driver: OrchestratorDriver;
  app: App;
  current?: Revision;
  spec?: AppSpec;
}

@Injectable()
export class AppsService {
  private readonly liveApps = new TtlCache<string, App>(APP_ROW_TTL_MS, 10_000);

  constructor(
    @Inject(PRISMA) private readonly prisma: PrismaClient,
    private readonly clusters: ClustersService,
    private readonly pipeline: ChangePipeline,
    private readonly secrets: AppSecretsService,
    private readonly policy: WorkloadPolicyService,
    private readonly recent: RecentChanges,
  ) {}

  /** How a read of `app` is served: as asked, unless the app is changing or has just changed here (then fresh). */
  readOptions(app: App, asked: ReadOptions): ReadOptions {
    return this.recent.readFor(app.id, asked);
  }

  private parseInput(input: ApplyInput): { spec: AppSpec; warnings: ComposeWarning[]; source: RevisionSource; imported?: ComposeImport } {
    if (input.compose !== undefined) {
      const imported = importCompose(input.compose, { ...input.composeOptions, name: input.name });
      return { spec: imported.spec, warnings: imported.warnings, source: 'compose', imported };
    }
    return { spec: parseOrThrow(AppSpec, input.spec, 'app spec'), warnings: [], source: 'api' };
  }

  /**
   * The dry run: what the orchestrator would be given, and how it differs from what runs. For a
   * Compose file, the conversion report with this cluster's orchestrator's own notes at the Compose keys.
   */
  async plan(clusterRef: string, input: ApplyInput): Promise<Plan & { importWarnings: ComposeWarning[]; policy: PolicyReview; report?: ComposeReport }> {
    const { spec: sent, warnings, imported } = this.parseInput(input);
    const { cluster, driver } = await this.clusters.driverFor(clusterRef);
    const policy = await this.policy.review(cluster, { kind: 'app', spec: sent });
    const app = await this.prisma.app.findUnique({ where: { clusterId_name: { clusterId: cluster.id, name: sent.name } } });
    const current = app && !app.deletedAt ? await this.currentRevision(app) : undefined;
    const { spec } = await this.secrets.resolve(app?.id, sent, { current: current?.spec as AppSpec | undefined, dryRun: true });
    const plan = await driver.plan(spec);
    const report = imported ? withOrchestratorWarnings(imported, cluster.kind, plan.warnings) : undefined;
    return { ...plan, importWarnings: warnings, policy, ...(report ? { report } : {}) };
  }

  /** Declarative apply: a new revision and an operation when something changes, neither when not. */
  async apply(clusterRef: string, input: ApplyInput, caller: Caller): Promise<ChangeResult & { report?: ComposeReport }> {
    const { spec: sent, warnings, source, imported } = this.parseInput(input);
    const result = await this.applySpec(clusterRef, { sent, warnings, source }, caller);
    return imported ? { ...result, report: imported.report } : result;
  }

  private async applySpec(
    clusterRef: string,
    { sent, warnings, source }: { sent: AppSpec; warnings: ComposeWarning[]; source: RevisionSource },
    caller: Caller,
  ): Promise<ChangeResult> {
    const { cluster, driver } = await this.clusters.driverFor(clusterRef);
    await this.policy.enforce(cluster, { kind: 'app', spec: sent }, `app "${sent.name}"`);
    const replay = await this.pipeline.replay(caller);
    if (replay) return replay;
    const existing = await this.prisma.app.findUnique({ where: { clusterId_name: { clusterId: cluster.id, name: sent.name } } });
    const before = existing ? await this.currentRevision(existing) : undefined;
    // from here on the spec names secret versions only: values never reach a revision, an operation or a plan
    const { spec, store } = await this.secrets.resolve(existing?.id, sent, { current: before?.spec as AppSpec | undefined });
    const app =
      existing ??
      (await this.prisma.app.upsert({
        where: { clusterId_name: { clusterId: cluster.id, name: sent.name } },
        create: { clusterId: cluster.id, name: sent.name },
        update: {},
      }));
    await store(app.id, caller.requester);
    const current = existing ? before : await this.currentRevision(app);
    const hash = specHash(spec);
    const sameSpec = !app.deletedAt && current?.specHash === hash;
    if (sameSpec && !(await driver.plan(spec)).changed) {
      return { changed: false, message: `${spec.name} already runs revision ${current!.number}; nothing to change`, revision: current!.number, warnings };
    }
    return this.change(
      { cluster, driver, app, current, spec: current ? (current.spec as AppSpec) : undefined },
      {
        kind: 'apply',
        requestBody: { spec },
        next: spec,
        source,
        warnings,
        message: sameSpec ? 'the cluster drifted from the current revision; re-applied it' : undefined,
        call: async () => {
          const result = await driver.apply(spec);
          return { services: result.rollingServices, result: { changed: result.changed, driverWarnings: result.warnings } };
        },
      },
      caller,
    );
  }

  /** A change to the app's spec through the pipeline, with the secrets it mounts written to the cluster first. */
  change(ctx: AppContext, change: AppChange, caller: Caller): Promise<ChangeResult> {
    return this.pipeline.changeApp(
      ctx,
      {
        ...change,
        call: async () => {
          await this.secrets.ensureOnCluster(ctx.driver, ctx.app.id, change.next);
          return change.call();
        },
      },
      caller,
    );
  }

  private async currentRevision(app: App): Promise<Revision | undefined> {
    if (!app.currentRevision) return undefined;
    return (await this.prisma.revision.findUnique({ where: { appId_number: { appId: app.id, number: app.currentRevision } } })) ?? undefined;
  }

  /** The app, its cluster's driver and its current revision; 404 when the app is unknown or deleted (unless asked). */
  async context(clusterRef: string, appName: string, options: { allowDeleted?: boolean } = {}): Promise<AppContext> {
    const { cluster, driver } = await this.clusters.driverFor(clusterRef);
    const app = await this.prisma.app.findUnique({ where: { clusterId_name: { clusterId: cluster.id, name: appName } } });
    if (!app || (app.deletedAt && !options.allowDeleted)) throw BerthError.notFound(`app "${appName}" on cluster "${cluster.name}"`);
    const current = await this.currentRevision(app);
    return { cluster, driver, app, current, spec: current ? (current.spec as AppSpec) : undefined };
  }

  async list(clusterRef: string): Promise<AppView[]> {
    const cluster = await this.clusters.find(clusterRef);
    const principal = requestContext.principal();
    const visible = principal ? visibleApps(principal, cluster.id) : 'all';
    const apps = await this.prisma.app.findMany({
      where: { clusterId: cluster.id, deletedAt: null, ...(visible === 'all' ? {} : { name: { in: [...visible] } }) },
      orderBy: { name: 'asc' },
    });
    return apps.map((a) => this.view(a, cluster.name));
  }

  /** Desired (current revision) against actual (the orchestrator) for every service. */
  async get(clusterRef: string, appName: string, read: ReadOptions = {}): Promise<AppView> {
    const ctx = await this.context(clusterRef, appName);
    const live = await ctx.driver.listServices(appName, this.readOptions(ctx.app, read));
    const byName = new Map(live.map((s) => [s.service, s]));
    const names = new Set([...Object.keys(ctx.spec?.services ?? {}), ...byName.keys()]);
    const services: ServiceState[] = [...names].sort().map((name) => {
      const desired = ctx.spec?.services[name];
      const actual = byName.get(name);
      return {
        service: name,
        desired: desired ? { image: desired.image, replicas: desired.replicas, mode: desired.mode } : undefined,
        actual: actual ? { image: actual.image, replicas: actual.replicas, rollout: actual.rollout.state } : undefined,
        inSync: !!desired && !!actual && actual.specHash === specHash(desired),
      };
    });
    return { ...this.view(ctx.app, ctx.cluster.name), spec: ctx.spec, services, observed: oldestObservation(live.map((s) => s.observed)) };
  }

  async remove(clusterRef: string, appName: string, options: { volumes: boolean }, caller: Caller): Promise<ChangeResult> {
    const ctx = await this.context(clusterRef, appName);
    const { operation } = await this.pipeline.execute(
      { clusterId: ctx.cluster.id, appId: ctx.app.id, kind: 'delete', request: { app: appName, volumes: options.volumes }, fromRevision: ctx.current?.number },
      caller,
      async () => {
        const removed = await ctx.driver.remove(appName, { volumes: options.volumes });
        await this.prisma.app.update({ where: { id: ctx.app.id }, data: { deletedAt: new Date(), currentRevision: null } });
        this.liveApps.forget((row) => row.id === ctx.app.id);
        return { value: removed, follow: { type: 'none' }, result: { removed: removed.removed } };
      },
    );
    return this.pipeline.resultOf(operation, [], caller, `${appName} removed`);
  }

  /** Rolls the whole app back to revision `target` (default: the one before the current). */
  async rollback(clusterRef: string, appName: string, target: number | undefined, caller: Caller): Promise<ChangeResult> {
    const ctx = await this.context(clusterRef, appName);
    const revision = await this.targetRevision(ctx, target);
    const spec = revision.spec as AppSpec;
    await this.policy.enforce(ctx.cluster, { kind: 'app', spec }, `a rollback to revision ${revision.number} of app "${appName}"`);
    const sameServices = ctx.spec && Object.keys(ctx.spec.services).sort().join() === Object.keys(spec.services).sort().join();
    return this.change(
      ctx,
      {
        kind: 'rollback',
        requestBody: { rollbackTo: revision.number },
        next: spec,
        source: 'rollback',
        message: `rollback to revision ${revision.number}`,
        call: async () => {
          if (!sameServices) {
            const result = await ctx.driver.apply(spec);
            return { services: result.rollingServices };
          }
          const rolling: string[] = [];
          for (const [name, svc] of Object.entries(spec.services)) {
            if ((await ctx.driver.rollbackService({ app: appName, service: name }, svc)).changed) rolling.push(name);
          }
          return { services: rolling };
        },
      },
      caller,
    );
  }

  async targetRevision(ctx: AppContext, target: number | undefined): Promise<Revision> {
    const current = ctx.current?.number;
    const revision = await this.prisma.revision.findFirst({
      where: { appId: ctx.app.id, ...(target !== undefined ? { number: target } : { number: { lt: current ?? 0 } }) },
      orderBy: { number: 'desc' },
    });
    if (!revision) {
      throw target !== undefined
        ? BerthError.notFound(`revision ${target} of app "${ctx.app.name}"`)
        : BerthError.invalid(`app "${ctx.app.name}" has no revision before ${current ?? 'the current one'}`);
    }
    return revision;
  }

  async revisions(clusterRef: string, appName: string, page: { cursor?: number; limit: number }): Promise<{ items: RevisionView[]; nextCursor?: number }> {
    const ctx = await this.context(clusterRef, appName, { allowDeleted: true });
    const rows = await this.prisma.revision.findMany({
      where: { appId: ctx.app.id, ...(page.cursor !== undefined ? { number: { lt: page.cursor } } : {}) },
      orderBy: { number: 'desc' },
      take: page.limit + 1,
    });
    const more = rows.length > page.limit;
    if (more) rows.pop();
    return { items: rows.map((r) => this.revisionView(r, ctx.app.currentRevision, false)), nextCursor: more ? rows[rows.length - 1]?.number : undefined };
  }

  async revision(clusterRef: string, appName: string, number: number): Promise<RevisionView> {
    const ctx = await this.context(clusterRef, appName, { allowDeleted: true });
    return this.revisionView(await this.targetRevision(ctx, number), ctx.app.currentRevision, true);
  }

  /** What changed from revision `from` to revision `to`, field by field. */
  async diff(clusterRef: string, appName: string, from: number, to: number) {
    const ctx = await this.context(clusterRef, appName, { allowDeleted: true });
    const [a, b] = await Promise.all([this.targetRevision(ctx, from), this.targetRevision(ctx, to)]);
    const changes = fieldChanges(a.spec, b.spec).map((c) => ({ ...c, summary: `${c.path}: ${JSON.stringify(c.from)} -> ${JSON.stringify(c.to)}` }));
    return { from, to, changes };
  }

  private revisionView(r: Revision, current: number | null, withSpec: boolean): RevisionView {
    return {
      number: r.number,
      specHash: r.specHash,
      source: r.source,
      author: r.author,
      message: r.message ?? undefined,
      warnings: r.warnings as unknown as ComposeWarning[],
      createdAt: r.createdAt.toISOString(),
      current: r.number === current,
      ...(withSpec ? { spec: r.spec as unknown as AppSpec } : {}),
    };
  }

  private view(app: App, cluster: string): AppView {
    return {
      name: app.name,
      cluster,
      currentRevision: app.currentRevision ?? undefined,
      createdAt: app.createdAt.toISOString(),
      updatedAt: app.updatedAt.toISOString(),
      deleted: !!app.deletedAt,
    };
  }

  /**
   * The app row, its cluster and driver, without the current revision (reads that need no spec, served
   * from the read model); 404 like `context`. Only its existence and id are used, so a live row is
   * kept for APP_ROW_TTL_MS; this replica forgets it when it removes the app, another replica's removal
   * shows within the TTL (as an empty list of services, then a 404).
   */
  async appRow(clusterRef: string, appName: string): Promise<Pick<AppContext, 'cluster' | 'driver' | 'app'>> {
    const { cluster, driver } = await this.clusters.driverFor(clusterRef);
    const app = await this.liveApps.load(`${cluster.id}/${appName}`, async () => {
      const row = await this.prisma.app.findUnique({ where: { clusterId_name: { clusterId: cluster.id, name: appName } } });
      return row && !row.deletedAt ? row : undefined;
    });
    if (!app) throw BerthError.notFound(`app "${appName}" on cluster "${cluster.name}"`);
    return { cluster, driver, app };
  }
}
