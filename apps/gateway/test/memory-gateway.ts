import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { OrchestratorKind } from '@berth/driver';
import type { DatabaseTarget } from '@berth/db';
import { InMemoryCluster, createInMemoryDriver } from '@berth/testkit';
import { type RunningGateway, startGateway } from './harness.js';

export interface MemoryGateway extends RunningGateway {
  /** The simulated orchestrator behind cluster "c1". */
  cluster: InMemoryCluster;
  /** Stops this gateway and starts a new one on the same database and cluster (a restart). */
  restart(): Promise<MemoryGateway>;
}

/**
 * The real gateway (REST, GraphQL, change pipeline, Prisma) on PGlite with an in-memory driver
 * registered as cluster "c1": the fast tier for the gateway's own logic. `persistent` keeps the
 * database in a folder so that `restart` finds it again.
 */
export async function startMemoryGateway(options: { kind?: OrchestratorKind; persistent?: boolean; cluster?: InMemoryCluster } = {}): Promise<MemoryGateway> {
  const kind = options.kind ?? 'swarm';
  const cluster = options.cluster ?? new InMemoryCluster();
  const dataDir = await mkdtemp(path.join(tmpdir(), 'berth-memory-'));
  const database: DatabaseTarget = options.persistent ? { kind: 'pglite', dataDir: path.join(dataDir, 'pgdata') } : { kind: 'pglite' };
  const boot = async (register: boolean): Promise<MemoryGateway> => {
    const gw = await startGateway({ DATABASE_URL: undefined, BERTH_DATA_DIR: dataDir, BERTH_LOG_LEVEL: 'warn' }, undefined, {
      database,
      driverFactory: (connection) => createInMemoryDriver(cluster, { kind: connection.kind }),
    });
    if (register) {
      const registration = kind === 'swarm' ? { name: 'c1', kind, socketPath: '/in-memory.sock' } : { name: 'c1', kind, kubeconfig: MEMORY_KUBECONFIG };
      const res = await gw.call('POST', '/v1/clusters', registration);
      if (res.status !== 201) throw new Error(`registering the in-memory cluster answered ${res.status}: ${JSON.stringify(res.body)}`);
    }
    return {
      ...gw,
      cluster,
      close: async () => {
        await gw.close();
        if (!options.cluster) cluster.dispose();
      },
      restart: async () => {
        await gw.close();
        return boot(false);
      },
    };
  };
  return boot(true);
}

/** A kubeconfig that only has to pass the gateway's validation: the in-memory driver never reads it. */
const MEMORY_KUBECONFIG = `apiVersion: v1
kind: Config
clusters: [{ name: mem, cluster: { server: "https://in-memory.invalid" } }]
users: [{ name: mem, user: { token: "t" } }]
contexts: [{ name: mem, context: { cluster: mem, user: mem } }]
current-context: mem
`;
