import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import type { PrismaClient } from '@berth/db';
import { type ClusterConnection, type ClusterHealth, type NodeInfo, type OrchestratorDriver, isDriverError } from '@berth/driver';
import { parseOrThrow } from '@berth/model';
import { BerthError, ErrorCode } from '../common/errors.js';
import { LOGGER } from '../common/logger.js';
import { requestContext } from '../common/request-context.js';
import { visibleClusters } from '../auth/access.js';
import { TokensService } from '../auth/tokens.service.js';
import { ClusterRows } from './cluster-rows.js';
import { PRISMA } from '../database/database.module.js';
import { ClusterDrivers } from '../drivers/cluster-drivers.service.js';
import { SecretBox } from '../secrets/secret-box.js';
import { RegisterCluster, UpdateCluster, kubeconfigServer } from './cluster.schemas.js';

export interface ClusterView {
  id: string;
  name: string;
  kind: 'swarm' | 'kubernetes';
  endpoint: string;
  labels: Record<string, string>;
  createdAt: string;
  updatedAt: string;
  health: ClusterHealth & { checkedAt?: string };
  version?: string;
  nodes?: NodeInfo[];
  nodeCount?: number;
}

type ClusterRow = NonNullable<Awaited<ReturnType<PrismaClient['cluster']['findFirst']>>>;

/** Live health of every cluster in a list is read at once, each within this bound. */
const LIST_PROBE_MS = 3000;
/**
 * How long a cluster's health, version and node count, once read, answer the cluster list (and
 * /v1/ready) before the cluster is asked again. The list never shows a reading older than this
 * (`health.checkedAt` says when it was taken); a reading is refreshed by the first list after it
 * expires, once for all the lists asking at that moment.
 */
export const HEALTH_TTL_MS = 5_000;

interface HealthReading {
  health: ClusterView['health'];
  version?: string;
  nodeCount?: number;
  at: number;
}

function connectionOf(input: RegisterCluster): { connection: ClusterConnection; endpoint: string } {
  if (input.kind === 'swarm') {
    if (input.socketPath) return { connection: { kind: 'swarm', socketPath: input.socketPath }, endpoint: `unix://${input.socketPath}` };
    const url = new URL(input.host!.replace(/^tcp:/, 'http:'));
    return {
      connection: { kind: 'swarm', host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port), tls: input.tls },
      endpoint: input.host!,
    };
  }
  let server: { server: string; context: string };
  try {
    server = kubeconfigServer(input.kubeconfig, input.context);
  } catch (e) {
    throw BerthError.invalid((e as Error).message, [{ path: 'kubeconfig', message: (e as Error).message }]);
  }
  return { connection: { kind: 'kubernetes', kubeconfig: input.kubeconfig, context: server.context }, endpoint: server.server };
}

@Injectable()
export class ClustersService {
  /** The last health reading of each cluster, by id. */
  private readonly readings = new Map<string, HealthReading>();
  /** Readings being taken, by cluster id: the lists asking at the same time share one. */
  private readonly probing = new Map<string, Promise<ClusterView>>();
  /** Bumped when a cluster changes or goes: a reading begun before is not kept. */
  private readingsEpoch = 0;

  constructor(
    @Inject(PRISMA) private readonly prisma: PrismaClient,
    private readonly drivers: ClusterDrivers,
    private readonly box: SecretBox,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly tokens: TokensService,
    private readonly clusterRows: ClusterRows,
  ) {}

  /** Registers a cluster after proving it answers with the given credentials; nothing is stored otherwise. */
  async register(raw: unknown, requester: string): Promise<ClusterView> {
    const input = parseOrThrow(RegisterCluster, raw, 'cluster');
    if (await this.prisma.cluster.findUnique({ where: { name: input.name }, select: { id: true } })) {
      throw BerthError.conflict(`a cluster named "${input.name}" is already registered`);
    }
    const { connection, endpoint } = connectionOf(input);
    const probe = await this.probe(connection, input.name, endpoint);
    const { sealed, keyId } = this.box.seal(JSON.stringify(connection));
    const row = await this.prisma.cluster
      .create({
        data: {
          name: input.name,
          kind: input.kind,
          endpoint,
          credentials: new Uint8Array(sealed),
          keyId,
          labels: input.labels,
          createdBy: requester,
          lastHealth: probe.health.status,
          lastHealthAt: new Date(),
          lastVersion: probe.version,
        },
      })
      .catch((e: { code?: string }) => {
        if (e.code === 'P2002') throw BerthError.conflict(`a cluster named "${input.name}" is already registered`);
        throw e;
      });
    this.logger.info({ cluster: row.name, kind: row.kind, endpoint }, 'cluster registered');
    const view: ClusterView = {
      ...this.view(row),
      health: { ...probe.health, checkedAt: new Date().toISOString() },
      version: probe.version,
      nodes: probe.nodes,
      nodeCount: probe.nodes.length,
    };
    this.remember(row.id, view, this.readingsEpoch);
    return view;
  }

  /**
   * Every cluster with its health, at most HEALTH_TTL_MS old: a reading that is older is taken again,
   * from each such cluster at once; one slow or dead cluster never fails the list.
   */
  async list(): Promise<ClusterView[]> {
    const principal = requestContext.principal();
    const visible = principal ? visibleClusters(principal) : 'all';
    const rows = await this.prisma.cluster.findMany({ where: visible === 'all' ? {} : { id: { in: [...visible] } }, orderBy: { name: 'asc' } });
    const probes = await Promise.allSettled(rows.map((row) => this.recent(row)));
    return probes.map((p, i) => (p.status === 'fulfilled' ? p.value : this.view(rows[i]!)));
  }

  /** The cluster with its last reading while that is fresh, else with a new one (shared with whoever asks meanwhile). */
  private async recent(row: ClusterRow): Promise<ClusterView> {
    let reading = this.readings.get(row.id);
    if (!reading || Date.now() - reading.at >= HEALTH_TTL_MS) {
      let probe = this.probing.get(row.id);
      if (!probe) {
        const started = this.live(row, LIST_PROBE_MS, false).finally(() => {
          if (this.probing.get(row.id) === started) this.probing.delete(row.id);
        });
        this.probing.set(row.id, (probe = started));
      }
      const view = await probe;
      reading = { health: view.health, version: view.version, nodeCount: view.nodeCount, at: Date.now() };
    }
    return { ...this.view(row), health: reading.health, version: reading.version ?? row.lastVersion ?? undefined, nodeCount: reading.nodeCount };
  }

  private remember(clusterId: string, view: ClusterView, epoch: number): void {
    if (epoch !== this.readingsEpoch) return;
    // aged from when the cluster answered, so a list never shows a reading older than HEALTH_TTL_MS
    const at = view.health.checkedAt ? Date.parse(view.health.checkedAt) : Date.now();
    this.readings.set(clusterId, { health: view.health, version: view.version, nodeCount: view.nodeCount, at });
  }

  /** Forgets what this gateway holds of a cluster that changed or went: its reading, and its row for the rest of this request. */
  private forgetCluster(clusterId: string): void {
    this.readingsEpoch++;
    this.readings.delete(clusterId);
    this.probing.delete(clusterId);
    const seen = requestContext.get()?.clusters;
    for (const [ref, row] of seen ?? []) if (row.id === clusterId) seen!.delete(ref);
  }

  /** One cluster with live health, version and nodes (always read from the cluster; the reading also serves the list). */
  async get(nameOrId: string): Promise<ClusterView> {
    return this.live(await this.find(nameOrId), undefined, true);
  }

  async update(nameOrId: string, raw: unknown): Promise<ClusterView> {
    const patch = parseOrThrow(UpdateCluster, raw, 'cluster update');
    const row = await this.find(nameOrId);
    const data: Record<string, unknown> = {};
    if (patch.labels) data.labels = patch.labels;
    const connectionFields = ['socketPath', 'host', 'tls', 'kubeconfig', 'context'] as const;
    if (connectionFields.some((f) => patch[f] !== undefined)) {
      const input = parseOrThrow(
        RegisterCluster,
        row.kind === 'swarm'
          ? { name: row.name, kind: 'swarm', socketPath: patch.socketPath, host: patch.host, tls: patch.tls }
          : { name: row.name, kind: 'kubernetes', kubeconfig: patch.kubeconfig, context: patch.context },
        'cluster update',
      );
      const { connection, endpoint } = connectionOf(input);
      const probe = await this.probe(connection, row.name, endpoint);
      const { sealed, keyId } = this.box.seal(JSON.stringify(connection));
      Object.assign(data, {
        endpoint,
        credentials: new Uint8Array(sealed),
        keyId,
        lastHealth: probe.health.status,
        lastHealthAt: new Date(),
        lastVersion: probe.version,
      });
    }
    const updated = await this.prisma.cluster.update({ where: { id: row.id }, data });
    this.clusterRows.forget();
    this.forgetCluster(row.id);
    await this.drivers.evict(row.id);
    return this.live(updated, undefined, true);
  }

  async remove(nameOrId: string): Promise<{ removed: string }> {
    const row = await this.find(nameOrId);
    await this.prisma.cluster.delete({ where: { id: row.id } });
    this.clusterRows.forget();
    this.forgetCluster(row.id);
    // the cluster's grants went with it
    this.tokens.forget({ clusterId: row.id });
    await this.drivers.evict(row.id);
    this.logger.info({ cluster: row.name }, 'cluster removed');
    return { removed: row.name };
  }

  /** The stored cluster and its driver, for the other resources. */
  async driverFor(nameOrId: string): Promise<{ cluster: ClusterRow; driver: OrchestratorDriver }> {
    const cluster = await this.find(nameOrId);
    return { cluster, driver: this.drivers.for(cluster) };
  }

  /** The stored cluster, by name or id; the row the auth guard read for this request when there is one. */
  async find(nameOrId: string): Promise<ClusterRow> {
    const seen = requestContext.get()?.clusters?.get(nameOrId);
    if (seen) return seen;
    const row = await this.clusterRows.find(nameOrId);
    if (!row) throw BerthError.notFound(`cluster "${nameOrId}"`);
    return row;
  }

  /** Contacts a cluster with new credentials; any failure is the caller's input problem (4xx). */
  private async probe(connection: ClusterConnection, name: string, endpoint: string) {
    const driver = this.drivers.open(connection, name);
    try {
      const info = await driver.info();
      const health = await driver.health();
      return { version: info.version, nodes: info.nodes, health };
    } catch (e) {
      const reason = e instanceof Error ? e.message : String(e);
      if (isDriverError(e) || e instanceof BerthError) {
        throw new BerthError(ErrorCode.Invalid, `cannot use cluster at ${endpoint}: ${reason}`, [
          { path: connection.kind === 'swarm' ? 'socketPath' : 'kubeconfig', message: reason },
        ]);
      }
      throw e;
    } finally {
      await driver.close().catch(() => undefined);
    }
  }

  private async live(row: ClusterRow, boundMs: number | undefined, withNodes: boolean): Promise<ClusterView> {
    const started = Date.now();
    const epoch = this.readingsEpoch;
    const bounded = <T>(p: Promise<T>) =>
      boundMs === undefined
        ? p
        : Promise.race([p, new Promise<never>((_, rej) => setTimeout(() => rej(new Error(`no answer within ${boundMs} ms`)), boundMs).unref())]);
    let view: ClusterView;
    try {
      const driver = this.drivers.for(row);
      const [health, info] = await bounded(Promise.all([driver.health(), driver.info()]));
      view = {
        ...this.view(row),
        health: { ...health, checkedAt: new Date().toISOString() },
        version: info.version,
        nodeCount: info.nodes.length,
        ...(withNodes ? { nodes: info.nodes } : {}),
      };
    } catch (e) {
      view = {
        ...this.view(row),
        health: {
          status: 'unreachable',
          message: e instanceof Error ? e.message : String(e),
          latencyMs: Date.now() - started,
          checkedAt: new Date().toISOString(),
        },
      };
    }
    if (view.health.status !== row.lastHealth || view.version !== row.lastVersion) {
      await this.prisma.cluster
        .update({
          where: { id: row.id },
          data: {
            lastHealth: view.health.status,
            lastHealthMessage: view.health.message ?? null,
            lastHealthAt: new Date(),
            lastVersion: view.version ?? row.lastVersion,
          },
        })
        .catch(() => undefined);
    }
    this.remember(row.id, view, epoch);
    return view;
  }

  private view(row: ClusterRow): ClusterView {
    return {
      id: row.id,
      name: row.name,
      kind: row.kind,
      endpoint: row.endpoint,
      labels: row.labels as Record<string, string>,
      createdAt: row.createdAt.toISOString(),
      updatedAt: row.updatedAt.toISOString(),
      health: {
        status: (row.lastHealth as ClusterHealth['status'] | null) ?? 'unreachable',
        message: row.lastHealthMessage ?? undefined,
        checkedAt: row.lastHealthAt?.toISOString(),
      },
      version: row.lastVersion ?? undefined,
    };
  }
}
