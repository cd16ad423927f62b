import { describe, expect, it } from '@jest/globals';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { PrismaClient } from '@berth/db';
import { BerthError } from '../src/common/errors.js';
import { type Config, ConfigError, loadConfig } from '../src/config/config.js';
import { abortableStream } from '../src/common/abortable-stream.js';
import { ClusterEventBus } from '../src/monitoring/events/cluster-event-bus.js';
import type { StoredEvent } from '../src/monitoring/events/event.views.js';
import { MetricsHistoryService } from '../src/monitoring/metrics/metrics-history.service.js';
import { nodeEngineConnections } from '../src/monitoring/metrics/node-engines.js';

/** The monitoring pieces that need no backend: configuration, resolution choice, live fan-out. */

const config = (env: Record<string, string> = {}) => loadConfig({ BERTH_DATA_DIR: '/tmp/x', ...env });

describe('monitoring configuration', () => {
  it('defaults to 15 s samples kept 24 h raw, 14 d by minute, 1 y by hour', () => {
    expect(config().monitoring).toMatchObject({
      enabled: true,
      leaseTtlMs: 15_000,
      metrics: {
        intervalMs: 15_000,
        rollupIntervalMs: 60_000,
        retentionMs: { raw: 86_400_000, minute: 14 * 86_400_000, hour: 365 * 86_400_000 },
        bucketMs: { minute: 60_000, hour: 3_600_000 },
      },
    });
    expect(config({ BERTH_MONITORING: 'false', BERTH_METRICS_INTERVAL: '500ms' }).monitoring).toMatchObject({ enabled: false, metrics: { intervalMs: 500 } });
  });

  it('names every setting that makes no sense together', () => {
    const bad = () => config({ BERTH_METRICS_RETENTION_RAW: '30d', BERTH_METRICS_HOUR_BUCKET: '90s' });
    expect(bad).toThrow(ConfigError);
    expect(bad).toThrow(/BERTH_METRICS_RETENTION_RAW must not exceed BERTH_METRICS_RETENTION_MINUTE/);
    expect(bad).toThrow(/BERTH_METRICS_HOUR_BUCKET must be a multiple of BERTH_METRICS_MINUTE_BUCKET/);
    expect(() => config({ BERTH_METRICS_INTERVAL: 'soon' })).toThrow(/BERTH_METRICS_INTERVAL/);
  });
});

describe('metrics history resolution', () => {
  const history = (c: Config) => new MetricsHistoryService(undefined as never, undefined as never, undefined as never, c);
  const now = Date.parse('2026-01-01T00:00:00Z');
  const ago = (ms: number) => new Date(now - ms);
  const h = history(config());

  it('takes the coarsest resolution fine enough for the step that still holds the start of the range', () => {
    expect(h.resolutionFor(ago(3_600_000), 15_000, now)).toBe('raw');
    expect(h.resolutionFor(ago(3_600_000), 60_000, now)).toBe('minute');
    expect(h.resolutionFor(ago(3_600_000), 3_600_000, now)).toBe('hour');
    // raw is kept 24 h: an older start needs minute buckets even for a fine step
    expect(h.resolutionFor(ago(2 * 86_400_000), 60_000, now)).toBe('minute');
    expect(h.resolutionFor(ago(30 * 86_400_000), 300_000, now)).toBe('minute');
    expect(h.resolutionFor(ago(30 * 86_400_000), 3_600_000, now)).toBe('hour');
  });
});

describe('node engines of a swarm cluster', () => {
  const tls = { ca: 'CA', cert: 'CERT', key: 'KEY' };

  it("reads the label, reusing the cluster's TLS material for tcp engines", () => {
    expect(
      nodeEngineConnections({ kind: 'swarm', host: 'm1', port: 2376, tls }, { 'berth.io/node-engines': 'tcp://10.0.0.2:2376, unix:///run/w2.sock' }),
    ).toEqual([
      { kind: 'swarm', host: '10.0.0.2', port: 2376, tls },
      { kind: 'swarm', socketPath: '/run/w2.sock' },
    ]);
    expect(nodeEngineConnections({ kind: 'swarm', socketPath: '/var/run/docker.sock' }, {})).toEqual([]);
    expect(nodeEngineConnections({ kind: 'kubernetes', kubeconfig: '' }, { 'berth.io/node-engines': 'tcp://a:1' })).toEqual([]);
  });

  it('refuses an endpoint it cannot use, naming it', () => {
    expect(() => nodeEngineConnections({ kind: 'swarm', socketPath: '/s' }, { 'berth.io/node-engines': 'http://a:1' })).toThrow(BerthError);
    expect(() => nodeEngineConnections({ kind: 'swarm', socketPath: '/s' }, { 'berth.io/node-engines': 'http://a:1' })).toThrow(/"http:\/\/a:1"/);
  });
});

describe('live cluster events', () => {
  const row = (id: number, clusterId = 'c1', app = 'shop'): StoredEvent =>
    ({
      id: BigInt(id),
      clusterId,
      app,
      service: 'web',
      objectKind: 'container',
      action: 'start',
      time: new Date(),
      eventId: String(id),
      cursor: String(id),
      objectName: 'x',
      message: null,
      attributes: {},
      operationId: null,
    }) as StoredEvent;

  /** A table another replica writes to: the bus finds those rows by polling. */
  function fakeTable() {
    const rows: StoredEvent[] = [];
    const prisma = {
      $queryRaw: async () => [{ max: rows.length ? rows.at(-1)!.id : 0n }],
      clusterEvent: { findMany: async ({ where }: { where: { id: { gt: bigint } } }) => rows.filter((r) => r.id > where.id.gt) },
    } as unknown as PrismaClient;
    return { rows, prisma };
  }
  const logger = { warn: () => undefined } as unknown as Logger;
  const busOver = (prisma: PrismaClient) => new ClusterEventBus(prisma, { monitoring: { events: { pollMs: 20 } } } as Config, logger);

  it('delivers each event once, whether this replica stored it or another one did', async () => {
    const table = fakeTable();
    table.rows.push(row(1)); // stored before anyone listened: not news
    const bus = busOver(table.prisma);
    const abort = new AbortController();
    const got: string[] = [];
    const reading = (async () => {
      for await (const e of bus.subscribe({ clusterId: 'c1' }, abort.signal)) got.push(e.id.toString());
    })();
    await sleep(50);
    // this replica stores 2 and 3 and publishes them; the poll finds them too
    table.rows.push(row(2), row(3));
    bus.publishStored([row(2), row(3)]);
    // another replica stores 4 and 5 (and one of another cluster, filtered out)
    table.rows.push(row(4), row(5, 'c2'), row(6));
    await sleep(100);
    bus.publishStored([row(3)]);
    abort.abort();
    await reading;
    expect(got).toEqual(['2', '3', '4', '6']);
    await bus.onApplicationShutdown();
  });

  it('shows a reader only what its token may see', async () => {
    const table = fakeTable();
    const bus = busOver(table.prisma);
    const abort = new AbortController();
    const got: string[] = [];
    const reading = (async () => {
      for await (const e of bus.subscribe({ visible: (r) => r.app === 'shop' }, abort.signal)) got.push(`${e.id}:${e.app}`);
    })();
    await sleep(50);
    bus.publishStored([row(1, 'c1', 'shop'), row(2, 'c1', 'billing'), row(3, 'c2', 'shop')]);
    await sleep(10);
    abort.abort();
    await reading;
    expect(got).toEqual(['1:shop', '3:shop']);
    await bus.onApplicationShutdown();
  });
});

describe('subscriptions over streams', () => {
  it('ends a quiet stream as soon as the client lets go, without waiting for its next item', async () => {
    let aborted = false;
    const stream = await abortableStream(
      async (signal) => {
        signal.addEventListener('abort', () => (aborted = true));
        return (async function* () {
          yield 1;
          await new Promise(() => undefined); // never another item
        })();
      },
      (n: number) => ({ n }),
    );
    expect(await stream.next()).toEqual({ done: false, value: { n: 1 } });
    void stream.next();
    expect(await stream.return!()).toEqual({ done: true, value: undefined });
    expect(aborted).toBe(true);
  });

  it('fails the subscription itself when the stream cannot be opened', async () => {
    await expect(
      abortableStream(
        async () => Promise.reject(BerthError.notFound('service "x"')),
        (x) => x,
      ),
    ).rejects.toThrow('service "x" not found');
  });
});
