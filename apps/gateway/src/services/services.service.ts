import { Injectable } from '@nestjs/common';
import type { ReadOptions, ServiceStatus } from '@berth/driver';
import { type ObservationView, observationView } from '../common/read-consistency.js';
import { type AppSpec, ServiceSpec, parseOrThrow, patchUpdatePolicy, specHash } from '@berth/model';
import { RollbackRequest, ScaleRequest, UpdateServiceRequest } from '../common/change-requests.js';
import { BerthError } from '../common/errors.js';
import type { Caller } from '../common/caller.js';
import { type AppContext, AppsService } from '../apps/apps.service.js';
import type { ChangeResult } from '../changes/change-pipeline.service.js';
import { WorkloadPolicyService } from '../policy/workload-policy.service.js';

export interface DiscoveryView {
  service: string;
  image: string;
  mode: string;
  stateful: boolean;
  replicas: ServiceStatus['replicas'];
  dnsName: string;
  aliases: string[];
  virtualIps: string[];
  ports: ServiceStatus['discovery']['ports'];
  endpoints: ServiceStatus['discovery']['endpoints'];
  rollout: ServiceStatus['rollout'];
  observed: ObservationView;
}

function discovery(s: ServiceStatus): DiscoveryView {
  return {
    service: s.service,
    image: s.image,
    mode: s.mode,
    stateful: s.stateful,
    replicas: s.replicas,
    dnsName: s.discovery.dnsName,
    aliases: s.discovery.aliases,
    virtualIps: s.discovery.virtualIps,
    ports: s.discovery.ports,
    endpoints: s.discovery.endpoints,
    rollout: s.rollout,
    observed: observationView(s.observed),
  };
}

@Injectable()
export class ServicesService {
  constructor(
    private readonly apps: AppsService,
    private readonly policy: WorkloadPolicyService,
  ) {}

  async list(clusterRef: string, app: string, read: ReadOptions = {}): Promise<DiscoveryView[]> {
    // the app row is enough to 404 on an unknown app: the current revision's spec is not needed here
    const row = await this.apps.appRow(clusterRef, app);
    return (await row.driver.listServices(app, this.apps.readOptions(row.app, read))).map(discovery);
  }

  async get(clusterRef: string, app: string, service: string, read: ReadOptions = {}): Promise<DiscoveryView> {
    const row = await this.apps.appRow(clusterRef, app);
    return discovery(await row.driver.getService({ app, service }, this.apps.readOptions(row.app, read)));
  }

  async scale(clusterRef: string, app: string, service: string, raw: unknown, caller: Caller): Promise<ChangeResult> {
    const { replicas } = parseOrThrow(ScaleRequest, raw, 'scale request');
    const ctx = await this.apps.context(clusterRef, app);
    const current = this.serviceOf(ctx, service);
    if (current.mode === 'global') throw BerthError.invalid(`service "${service}" is global: it runs one replica per node and cannot be scaled`);
    const next = this.withService(ctx.spec!, service, { ...current, replicas });
    return this.apps.change(
      ctx,
      {
        kind: 'scale',
        service,
        requestBody: { service, replicas },
        next,
        source: 'scale',
        message: `scale ${service} ${current.replicas} -> ${replicas}`,
        call: async () => {
          await ctx.driver.scale({ app, service }, replicas);
          return { services: [service], follow: 'scale' };
        },
      },
      caller,
    );
  }

  /** Changes one service and rolls it with its update policy. */
  async update(clusterRef: string, app: string, service: string, raw: unknown, caller: Caller): Promise<ChangeResult> {
    const patch = parseOrThrow(UpdateServiceRequest, raw, 'service update');
    const ctx = await this.apps.context(clusterRef, app);
    const current = this.serviceOf(ctx, service);
    if (!patch.force && patch.expectedRevision !== undefined && patch.expectedRevision !== ctx.current?.number) {
      throw BerthError.conflict(`app "${app}" is at revision ${ctx.current?.number}, not ${patch.expectedRevision}: read it again, or send "force": true`, {
        currentRevision: ctx.current?.number,
      });
    }
    if (!patch.force) {
      const live = await ctx.driver.getService({ app, service });
      if (live.specHash && live.specHash !== specHash(current)) {
        throw BerthError.conflict(`service "${service}" was changed outside Berth since revision ${ctx.current?.number}: inspect it, or send "force": true`, {
          currentRevision: ctx.current?.number,
        });
      }
    }
    const updated = parseOrThrow(
      ServiceSpec,
      {
        ...current,
        ...(patch.image !== undefined ? { image: patch.image } : {}),
        ...(patch.command !== undefined ? { command: patch.command } : {}),
        ...(patch.env !== undefined ? { env: patch.env } : {}),
        ...(patch.resources !== undefined ? { resources: patch.resources } : {}),
        ...(patch.replicas !== undefined ? { replicas: patch.replicas } : {}),
        ...(patch.update !== undefined ? { update: patchUpdatePolicy(current, patch.update) } : {}),
      },
      'service spec',
      ['services', service],
    );
    if (specHash(updated) === specHash(current)) {
      return {
        changed: false,
        message: `service "${service}" already runs this spec (revision ${ctx.current?.number})`,
        revision: ctx.current?.number,
        warnings: [],
      };
    }
    const { expectedRevision: _e, force: _f, ...request } = patch;
    const next = this.withService(ctx.spec!, service, updated);
    await this.policy.enforce(ctx.cluster, { kind: 'app', spec: next, services: [service] }, `the update of service "${service}" of app "${app}"`);
    return this.apps.change(
      ctx,
      {
        kind: 'update',
        service,
        requestBody: { service, ...request },
        next,
        source: 'update',
        message: `update ${service}`,
        call: async () => {
          const { changed } = await ctx.driver.updateService({ app, service }, updated);
          return { services: changed ? [service] : [] };
        },
      },
      caller,
    );
  }

  /** Rolls one service back to its spec in an earlier revision, with its rollback policy. */
  async rollback(clusterRef: string, app: string, service: string, raw: unknown, caller: Caller): Promise<ChangeResult> {
    const { revision: target } = parseOrThrow(RollbackRequest, raw ?? {}, 'rollback request');
    const ctx = await this.apps.context(clusterRef, app);
    this.serviceOf(ctx, service);
    const revision = await this.apps.targetRevision(ctx, target);
    const earlier = (revision.spec as AppSpec).services[service];
    if (!earlier) throw BerthError.invalid(`service "${service}" does not exist in revision ${revision.number}`);
    const next = this.withService(ctx.spec!, service, earlier);
    await this.policy.enforce(
      ctx.cluster,
      { kind: 'app', spec: next, services: [service] },
      `a rollback of service "${service}" to revision ${revision.number}`,
    );
    return this.apps.change(
      ctx,
      {
        kind: 'rollback',
        service,
        requestBody: { service, rollbackTo: revision.number },
        next,
        source: 'rollback',
        message: `rollback ${service} to revision ${revision.number}`,
        call: async () => {
          const { changed } = await ctx.driver.rollbackService({ app, service }, earlier);
          return { services: changed ? [service] : [] };
        },
      },
      caller,
    );
  }

  private serviceOf(ctx: AppContext, service: string): ServiceSpec {
    const svc = ctx.spec?.services[service];
    if (!svc) throw BerthError.notFound(`service "${service}" of app "${ctx.app.name}"`);
    return svc;
  }

  private withService(spec: AppSpec, service: string, svc: ServiceSpec): AppSpec {
    return { ...spec, services: { ...spec.services, [service]: svc } };
  }
}
