import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { createHmac } from 'node:crypto';
import type { Logger } from 'pino';
import type { PrismaClient } from '@berth/db';
import type { ClusterHealth, ClusterInfo, OrchestratorDriver, RolloutStatus } from '@berth/driver';
import { TOKEN_CACHE_TTL_MS, TokensService } from '../src/auth/tokens.service.js';
import { ClustersService, HEALTH_TTL_MS } from '../src/clusters/clusters.service.js';
import { CLUSTER_CACHE_TTL_MS, ClusterRows } from '../src/clusters/cluster-rows.js';
import { type RequestContext, requestContext } from '../src/common/request-context.js';
import type { Config } from '../src/config/config.js';
import type { ClusterDrivers } from '../src/drivers/cluster-drivers.service.js';
import { lazyDriver } from '../src/drivers/driver.factory.js';
import type { SecretBox } from '../src/secrets/secret-box.js';

/** The in-process caches of the request path: tokens, cluster health, the cluster row of a request, lazy drivers. */

const silent = { info() {}, warn() {}, error() {}, debug() {} } as unknown as Logger;

afterEach(() => {
  jest.restoreAllMocks();
});

/** Moves Date.now() by hand. */
function clock() {
  let now = Date.now();
  jest.spyOn(Date, 'now').mockImplementation(() => now);
  return { advance: (ms: number) => (now += ms) };
}

describe('TokensService principal cache', () => {
  const hexId = '0123456789ab4def8123456789abcdef';
  const id = '01234567-89ab-4def-8123-456789abcdef';
  const secret = 'the-secret-0123456789abcdefghijklmnopqrstu';
  const token = `berth_${hexId}_${secret}`;
  const salt = '00112233445566778899aabbccddeeff';

  function setup(row: { expiresAt?: Date | null; grants?: { role: string; clusterId: string | null; app: string | null }[] } = {}) {
    const stored = {
      id,
      name: 'ci',
      salt,
      secretHash: createHmac('sha256', Buffer.from(salt, 'hex')).update(secret).digest('hex'),
      revokedAt: null as Date | null,
      expiresAt: row.expiresAt ?? null,
      lastUsedAt: null,
      createdAt: new Date(),
      createdBy: null,
      grants: row.grants ?? [{ role: 'viewer', clusterId: null, app: null }],
    };
    const reads = { count: 0 };
    const prisma = {
      apiToken: {
        findUnique: async () => {
          reads.count++;
          return { ...stored };
        },
        findMany: async () => [],
        update: async ({ data }: { data: { revokedAt?: Date } }) => {
          if (data.revokedAt) stored.revokedAt = data.revokedAt;
          return { ...stored };
        },
      },
      cluster: { findMany: async () => [] },
    } as unknown as PrismaClient;
    const tokens = new TokensService(prisma, { auth: {} } as Config, silent);
    return { tokens, stored, reads };
  }

  it('reads a token once per TTL, and reads it again after', async () => {
    const time = clock();
    const { tokens, reads } = setup();
    for (let i = 0; i < 5; i++) expect((await tokens.verify(token)).name).toBe('ci');
    expect(reads.count).toBe(1);
    time.advance(TOKEN_CACHE_TTL_MS);
    await tokens.verify(token);
    expect(reads.count).toBe(2);
  });

  it('checks the secret on every request, cached or not', async () => {
    const { tokens } = setup();
    await tokens.verify(token);
    await expect(tokens.verify(`berth_${hexId}_${'x'.repeat(43)}`)).rejects.toThrow('the API token is not valid');
    expect((await tokens.verify(token)).tokenId).toBe(id);
  });

  it('refuses a token revoked through this gateway at once, with the cache warm', async () => {
    const { tokens } = setup();
    await tokens.verify(token);
    await tokens.revoke(id);
    await expect(tokens.verify(token)).rejects.toThrow('the API token was revoked');
  });

  it('refuses a token revoked elsewhere (another gateway) within the TTL', async () => {
    const time = clock();
    const { tokens, stored } = setup();
    await tokens.verify(token);
    stored.revokedAt = new Date();
    time.advance(TOKEN_CACHE_TTL_MS);
    await expect(tokens.verify(token)).rejects.toThrow('the API token was revoked');
  });

  it('honours expiry on every request, even from the cache', async () => {
    const time = clock();
    const { tokens, reads } = setup({ expiresAt: new Date(Date.now() + 1000) });
    await tokens.verify(token);
    time.advance(1000);
    await expect(tokens.verify(token)).rejects.toThrow('the API token has expired');
    expect(reads.count).toBe(1);
  });

  it('reads again the tokens with a grant on a removed cluster', async () => {
    const { tokens, reads } = setup({ grants: [{ role: 'operator', clusterId: 'c1', app: null }] });
    await tokens.verify(token);
    tokens.forget({ clusterId: 'c2' });
    await tokens.verify(token);
    expect(reads.count).toBe(1);
    tokens.forget({ clusterId: 'c1' });
    await tokens.verify(token);
    expect(reads.count).toBe(2);
  });

  it('does not keep a row read while the token was being revoked', async () => {
    const { tokens, stored, reads } = setup();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const prisma = (tokens as unknown as { prisma: { apiToken: { findUnique: () => Promise<unknown> } } }).prisma;
    const original = prisma.apiToken.findUnique;
    prisma.apiToken.findUnique = async () => {
      const row = await original();
      await gate;
      return row;
    };
    const pending = tokens.verify(token);
    stored.revokedAt = new Date();
    tokens.forget({ tokenId: id });
    release();
    await pending; // read before the revocation: that request passes
    prisma.apiToken.findUnique = original;
    await expect(tokens.verify(token)).rejects.toThrow('the API token was revoked');
    expect(reads.count).toBe(2);
  });
});

describe('ClustersService health readings', () => {
  const row = (id: string, name: string) => ({
    id,
    name,
    kind: 'swarm' as const,
    endpoint: 'unix:///var/run/docker.sock',
    credentials: new Uint8Array(),
    keyId: 'k',
    labels: {},
    createdBy: 'test',
    createdAt: new Date(),
    updatedAt: new Date(),
    lastHealth: 'healthy',
    lastHealthMessage: null,
    lastHealthAt: new Date(),
    lastVersion: '20.10',
    eventCursor: null,
  });

  function setup() {
    const rows = [row('c1', 'one'), row('c2', 'two')];
    const probes: string[] = [];
    const clusterReads = { count: 0 };
    let health: ClusterHealth['status'] = 'healthy';
    const driverOf = (cluster: { name: string }) =>
      ({
        kind: 'swarm',
        health: async () => {
          probes.push(cluster.name);
          await new Promise((r) => setTimeout(r, 5));
          return { status: health } as ClusterHealth;
        },
        info: async () => ({ kind: 'swarm', version: '20.10', nodes: [] }) as ClusterInfo,
      }) as unknown as OrchestratorDriver;
    const prisma = {
      cluster: {
        findMany: async () => rows,
        findFirst: async ({ where }: { where: { name?: string } }) => {
          clusterReads.count++;
          return rows.find((r) => r.name === where.name) ?? null;
        },
        update: async () => rows[0],
        delete: async () => rows[0],
      },
    } as unknown as PrismaClient;
    const drivers = { for: driverOf, evict: async () => undefined } as unknown as ClusterDrivers;
    const tokens = { forget: jest.fn() } as unknown as TokensService;
    const service = new ClustersService(prisma, drivers, {} as SecretBox, silent, tokens, new ClusterRows(prisma));
    return { service, probes, clusterReads, tokens, setHealth: (s: ClusterHealth['status']) => (health = s) };
  }

  it('serves lists from a reading at most HEALTH_TTL_MS old, taken once for the lists asking together', async () => {
    const { service, probes, setHealth } = setup();
    const lists = await Promise.all([service.list(), service.list(), service.list()]);
    expect(probes.sort()).toEqual(['one', 'two']);
    expect(lists[2]!.map((c) => c.health.status)).toEqual(['healthy', 'healthy']);
    setHealth('degraded');
    const again = await service.list();
    expect(probes).toHaveLength(2);
    expect(again[0]!.health).toMatchObject({ status: 'healthy', checkedAt: lists[0]![0]!.health.checkedAt });
    expect(again[0]!.nodeCount).toBe(0);

    const time = clock();
    time.advance(HEALTH_TTL_MS);
    const later = await service.list();
    expect(probes).toHaveLength(4);
    expect(later.map((c) => c.health.status)).toEqual(['degraded', 'degraded']);
  });

  it('GET of one cluster reads it live, and that reading serves the list', async () => {
    const { service, probes, setHealth } = setup();
    await service.list();
    setHealth('degraded');
    expect((await service.get('one')).health.status).toBe('degraded');
    expect(probes).toHaveLength(3);
    const list = await service.list();
    expect(list.map((c) => c.health.status)).toEqual(['degraded', 'healthy']);
    expect(probes).toHaveLength(3);
  });

  it('forgets the reading of a removed cluster and the cached tokens with grants on it', async () => {
    const { service, probes, tokens } = setup();
    await service.list();
    await service.remove('one');
    expect(tokens.forget).toHaveBeenCalledWith({ clusterId: 'c1' });
    await service.list();
    expect(probes).toEqual(expect.arrayContaining(['one', 'two', 'one']));
    expect(probes).toHaveLength(3);
  });

  it('finds the row the auth guard read for this request without reading it again', async () => {
    const { service, clusterReads } = setup();
    const guardRow = { ...row('c1', 'one'), labels: { seen: 'by-guard' } };
    const context: RequestContext = { correlationId: 'x', requester: 'test', clusters: new Map([['one', guardRow]]) };
    const found = await requestContext.run(context, () => service.find('one'));
    expect(found).toBe(guardRow);
    expect(clusterReads.count).toBe(0);
    // another request, or after the response ended: the stored row, read once
    expect((await service.find('one')).labels).toEqual({});
    delete context.clusters;
    expect(await requestContext.run(context, () => service.find('one'))).not.toBe(guardRow);
    expect(clusterReads.count).toBe(1);
  });

  it('reads a cluster row once per CLUSTER_CACHE_TTL_MS, and again at once after this replica changed or removed a cluster', async () => {
    const { service, clusterReads } = setup();
    await service.find('one');
    await service.find('one');
    expect(clusterReads.count).toBe(1);
    const time = clock();
    time.advance(CLUSTER_CACHE_TTL_MS);
    await service.find('one');
    expect(clusterReads.count).toBe(2);
    await service.remove('two');
    await service.find('one');
    expect(clusterReads.count).toBe(4);
    // an unknown name is not remembered: registering it must not wait for a TTL
    await expect(service.find('three')).rejects.toThrow('cluster "three"');
    await expect(service.find('three')).rejects.toThrow('cluster "three"');
    expect(clusterReads.count).toBe(6);
  });
});

describe('lazyDriver', () => {
  const fake = () =>
    ({
      kind: 'swarm',
      info: async () => ({ kind: 'swarm', version: '1', nodes: [] }),
      async *followRollout() {
        yield { state: 'progressing' } as RolloutStatus;
        yield { state: 'completed' } as RolloutStatus;
      },
      close: jest.fn(async () => undefined),
    }) as unknown as OrchestratorDriver;

  it('loads the driver module once, when the driver is created, and answers calls and streams through it', async () => {
    const real = fake();
    const load = jest.fn(async () => real);
    const driver = lazyDriver('swarm', load);
    expect(driver.kind).toBe('swarm');
    expect(load).toHaveBeenCalledTimes(1);
    expect((await driver.info()).version).toBe('1');
    const states: string[] = [];
    for await (const s of driver.followRollout({ app: 'a', service: 'b' })) states.push(s.state);
    expect(states).toEqual(['progressing', 'completed']);
    expect(load).toHaveBeenCalledTimes(1);
    await driver.close();
    expect(real.close).toHaveBeenCalled();
    // not a thenable: awaiting the driver itself gives the driver
    expect(await Promise.resolve(driver)).toBe(driver);
  });

  it('tries a failed load again on the next call', async () => {
    const real = fake();
    const load = jest.fn<() => Promise<OrchestratorDriver>>().mockRejectedValueOnce(new Error('no module')).mockResolvedValue(real);
    const driver = lazyDriver('kubernetes', load);
    await expect(driver.info()).rejects.toThrow('no module');
    expect((await driver.info()).version).toBe('1');
    expect(load).toHaveBeenCalledTimes(2);
  });
});
