import { Inject, Injectable } from '@nestjs/common';
import type { JobRun, Prisma, PrismaClient } from '@berth/db';
import { JobSpec, parseOrThrow } from '@berth/model';
import { BerthError } from '../common/errors.js';
import { requestContext } from '../common/request-context.js';
import { allows, visibleApps } from '../auth/access.js';
import { PRISMA } from '../database/database.module.js';
import { ClustersService } from '../clusters/clusters.service.js';
import { type OperationView, operationView } from '../changes/operation.views.js';
import { ChangePipeline } from '../changes/change-pipeline.service.js';
import { ChangeStore } from '../changes/change.store.js';
import type { Caller } from '../common/caller.js';
import { WorkloadPolicyService } from '../policy/workload-policy.service.js';

export interface JobRunView {
  id: string;
  cluster: string;
  app: string;
  name: string;
  nativeName: string;
  status: string;
  succeeded: number;
  failed: number;
  runs: unknown[];
  logTail?: string;
  startedAt: string;
  finishedAt?: string;
  durationMs?: number;
  operationId?: string;
  spec: JobSpec;
}

/** Berth's namespace for jobs that name no app. */
const DEFAULT_JOB_APP = 'berth-jobs';

@Injectable()
export class JobsService {
  constructor(
    @Inject(PRISMA) private readonly prisma: PrismaClient,
    private readonly clusters: ClustersService,
    private readonly pipeline: ChangePipeline,
    private readonly store: ChangeStore,
    private readonly policy: WorkloadPolicyService,
  ) {}

  /** Starts a run-once job; it is followed to completion and its runs, exit codes and log tail kept. */
  async run(clusterRef: string, raw: unknown, caller: Caller): Promise<{ job: JobRunView; operation: OperationView }> {
    const spec = parseOrThrow(JobSpec, raw, 'job spec');
    const { cluster, driver } = await this.clusters.driverFor(clusterRef);
    await this.policy.enforce(cluster, { kind: 'job', spec }, `job "${spec.name}"`);
    const { operation } = await this.pipeline.execute({ clusterId: cluster.id, kind: 'job', request: { job: spec } }, caller, async (op) => {
      const run = await this.store.createJobRun({
        clusterId: cluster.id,
        operationId: op.id,
        app: spec.app ?? DEFAULT_JOB_APP,
        name: spec.name,
        nativeName: '',
        spec: spec as unknown as Prisma.InputJsonValue,
        status: 'pending',
      });
      const ref = await driver.runJob(spec);
      await this.store.nameJobRun(run.id, ref);
      return { value: ref, follow: { type: 'job', app: ref.app, name: ref.name, jobRunId: run.id }, result: { job: ref } };
    });
    const job = await this.store.jobRunOf(operation.id);
    return { job: this.view(job, cluster.name), operation: operationView(operation) };
  }

  async get(clusterRef: string, id: string): Promise<JobRunView> {
    const cluster = await this.clusters.find(clusterRef);
    const job = await this.prisma.jobRun.findFirst({ where: { id, clusterId: cluster.id } }).catch(() => null);
    const principal = requestContext.principal();
    if (!job || (principal && !allows(principal, 'read', cluster.id, job.app))) throw BerthError.notFound(`job run "${id}" on cluster "${cluster.name}"`);
    return this.view(job, cluster.name);
  }

  async list(clusterRef: string, filter: { app?: string; name?: string }, page: { cursor?: string; limit: number }) {
    const cluster = await this.clusters.find(clusterRef);
    if (page.cursor !== undefined && !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(page.cursor)) {
      throw BerthError.invalid('cursor: expected the nextCursor of a previous page', [{ path: 'cursor', message: 'expected a job run id' }]);
    }
    const rows = await this.prisma.jobRun.findMany({
      where: { clusterId: cluster.id, name: filter.name, app: this.appFilter(cluster.id, filter.app) },
      orderBy: [{ startedAt: 'desc' }, { id: 'desc' }],
      take: page.limit + 1,
      ...(page.cursor ? { cursor: { id: page.cursor }, skip: 1 } : {}),
    });
    const more = rows.length > page.limit;
    if (more) rows.pop();
    return { items: rows.map((r) => this.view(r, cluster.name)), nextCursor: more ? rows[rows.length - 1]?.id : undefined };
  }

  private appFilter(clusterId: string, app: string | undefined) {
    const principal = requestContext.principal();
    const visible = principal ? visibleApps(principal, clusterId) : 'all';
    if (visible === 'all') return app;
    return app === undefined ? { in: [...visible] } : visible.has(app) ? app : { in: [] };
  }

  private view(job: JobRun, cluster: string): JobRunView {
    return {
      id: job.id,
      cluster,
      app: job.app,
      name: job.name,
      nativeName: job.nativeName,
      status: job.status,
      succeeded: job.succeeded,
      failed: job.failed,
      runs: job.runs as unknown[],
      logTail: job.logTail ?? undefined,
      startedAt: job.startedAt.toISOString(),
      finishedAt: job.finishedAt?.toISOString(),
      durationMs: job.finishedAt ? job.finishedAt.getTime() - job.startedAt.getTime() : undefined,
      operationId: job.operationId ?? undefined,
      spec: job.spec as unknown as JobSpec,
    };
  }
}
