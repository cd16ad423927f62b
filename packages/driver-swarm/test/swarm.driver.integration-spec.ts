import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { connect } from 'node:net';
import { AppSpec, type AppSpecInput } from '@berth/model';
import { DriverErrorCode, fieldChanges, type ClusterEvent, type LogLine, type RolloutStatus, type ServiceRef } from '@berth/driver';
import { createSwarmDriver, type SwarmDriver } from '@berth/driver-swarm';
import { SwarmEngine } from '../src/swarm-engine.client.js';
import { appContextFor, normalizeLiveSpec, renderService } from '../src/swarm-spec.mapper.js';

/**
 * Swarm-specific behaviour beyond the shared conformance suite: that what Berth renders is what the
 * engine keeps (so plans show only real changes), host-mode ports, optimistic concurrency, logs and
 * resumable events.
 */

const skip = process.env.BERTH_SKIP_SWARM === '1';
if (skip) console.warn('\n*** BERTH_SKIP_SWARM=1: the Swarm driver integration tests are SKIPPED ***\n');
const socketPath = process.env.BERTH_DOCKER_SOCKET ?? '';
const HOST_PORT = 18_181;
const TIMEOUT = 90_000;

const app = `swd-${Date.now().toString(36)}`;
const input: AppSpecInput = {
  name: app,
  labels: { team: 'infra' },
  volumes: { files: { driver: 'local', driverOptions: { type: 'tmpfs', device: 'tmpfs', o: 'size=5m' } } },
  services: {
    web: {
      image: 'berth-test/http:1',
      replicas: 1,
      ports: [{ target: 80, published: HOST_PORT, mode: 'host' }],
      env: { B: '2', A: '1' },
      labels: { tier: 'front' },
      // busybox nc has no -z: ask for the page
      healthCheck: {
        test: ['CMD-SHELL', "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 1 127.0.0.1 80 | grep -q '200 OK'"],
        interval: '1s',
        timeout: '2s',
        retries: 3,
      },
      resources: { limits: { cpus: 0.5, memoryBytes: 64 * 1024 * 1024 }, reservations: { memoryBytes: 8 * 1024 * 1024 } },
      placement: { constraints: ['node.role==manager'], maxReplicasPerNode: 1 },
      restart: { condition: 'any', delay: '1s', maxAttempts: 3 },
      update: { parallelism: 1, delay: '1s', order: 'stop-first', monitor: '1s' },
      rollback: { parallelism: 2, monitor: '1s' },
      stopGracePeriod: '3s',
      workingDir: '/www',
      user: 'root',
      volumes: [
        { type: 'implicit', target: '/scratch' },
        { type: 'shared', source: 'files', target: '/files' },
      ],
    },
    ticker: {
      image: 'berth-test/busybox:1',
      mode: 'global',
      entrypoint: ['sh', '-c'],
      command: ['i=0; while true; do echo "tick $i"; echo "tock $i" >&2; i=$((i+1)); sleep 0.2; done'],
    },
  },
};
const spec = AppSpec.parse(input);
const web: ServiceRef = { app, service: 'web' };

async function lastOf<T>(items: AsyncIterable<T>): Promise<T | undefined> {
  let last: T | undefined;
  for await (const i of items) last = i;
  return last;
}

function httpGet(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port }, () => socket.end('GET / HTTP/1.0\r\n\r\n'));
    let text = '';
    socket.setTimeout(5000, () => socket.destroy(new Error(`no answer on port ${port}`)));
    socket.on('data', (c: Buffer) => (text += c.toString()));
    socket.on('end', () => resolve(text));
    socket.on('error', reject);
  });
}

(skip ? describe.skip : describe)('SwarmDriver against the engine', () => {
  let driver: SwarmDriver;
  let engine: SwarmEngine;
  const follow = async (ref: ServiceRef): Promise<RolloutStatus | undefined> =>
    lastOf(driver.followRollout(ref, { signal: AbortSignal.timeout(TIMEOUT), pollIntervalMs: 250 }));

  beforeAll(async () => {
    driver = createSwarmDriver({ kind: 'swarm', socketPath });
    engine = new SwarmEngine({ kind: 'swarm', socketPath });
    await driver.apply(spec);
    for (const service of ['web', 'ticker']) expect((await follow({ app, service }))?.state).toBe('completed');
  }, TIMEOUT * 2);

  afterAll(async () => {
    await driver?.remove(app, { volumes: true });
    await driver?.removeVolume(app, 'files').catch(() => undefined);
    await driver?.close();
  }, TIMEOUT);

  it('keeps every field Berth writes as written: the live spec diffs clean against the render', async () => {
    const [network] = await engine.listNetworks({ name: [`${app}_default`] });
    for (const [name, svc] of Object.entries(spec.services)) {
      const live = await engine.findService(`${app}_${name}`);
      const rendered = renderService(app, name, svc, appContextFor(spec, svc)).spec;
      expect([name, fieldChanges(normalizeLiveSpec(live!.Spec, new Map([[network!.Id, network!.Name]])), rendered)]).toEqual([name, []]);
    }
  });

  it('plans exactly the changed field for an image change', async () => {
    const next = AppSpec.parse({ ...input, services: { ...input.services, web: { ...input.services.web!, image: 'berth-test/http:2' } } });
    const plan = await driver.plan(next);
    const object = plan.objects.find((o) => o.service === 'web')!;
    expect(object.action).toBe('update');
    expect(object.changes).toEqual([{ path: 'TaskTemplate.ContainerSpec.Image', from: 'berth-test/http:1', to: 'berth-test/http:2' }]);
    expect(plan.objects.find((o) => o.service === 'ticker')!.action).toBe('unchanged');
  });

  it('serves a host-mode published port from the host, and runs a global service on every node', async () => {
    expect(await httpGet(HOST_PORT)).toMatch(/200 OK[\s\S]*v1/);
    const status = await driver.getService(web);
    expect(status.discovery.ports).toEqual([{ target: 80, published: HOST_PORT, protocol: 'tcp', mode: 'host' }]);
    const nodes = (await driver.info()).nodes.filter((n) => n.status === 'ready' && n.availability === 'active');
    const ticker = await driver.getService({ app, service: 'ticker' });
    expect(ticker.mode).toBe('global');
    expect(ticker.replicas.running).toBe(nodes.length);
  });

  it(
    'records a scale in the spec it reads back, so re-applying the earlier revision scales back',
    async () => {
      await driver.scale(web, 2);
      expect((await driver.getService(web)).spec?.replicas).toBe(2);
      // maxReplicasPerNode 1 on one node: the second replica stays pending, which the rollout shows
      expect((await driver.rolloutStatus(web)).state).toBe('progressing');
      const again = await driver.apply(spec);
      expect(again.objects.find((o) => o.service === 'web')).toMatchObject({
        action: 'update',
        changes: [{ path: 'Mode.Replicated.Replicas', from: 2, to: 1 }],
      });
      expect(again.rollingServices).toEqual([]);
      expect((await follow(web))?.state).toBe('completed');
    },
    TIMEOUT,
  );

  it('refuses a write based on a stale read as a Conflict', async () => {
    const live = (await engine.findService(`${app}_web`))!;
    const labels = { ...live.Spec.Labels, touched: '1' };
    await engine.updateService(live.ID, live.Version.Index, { ...live.Spec, Labels: labels });
    await expect(engine.updateService(live.ID, live.Version.Index, live.Spec)).rejects.toMatchObject({ code: DriverErrorCode.Conflict });
  });

  it(
    'streams demultiplexed logs with time, replica and stream, and stops on abort',
    async () => {
      const controller = new AbortController();
      const lines: LogLine[] = [];
      for await (const line of driver.logs({ app, service: 'ticker' }, { follow: true, tail: 2, signal: controller.signal })) {
        lines.push(line);
        if (lines.length >= 8) controller.abort();
      }
      expect(lines.length).toBeGreaterThanOrEqual(8);
      expect(lines.some((l) => l.stream === 'stdout' && /^tick \d+$/.test(l.line))).toBe(true);
      expect(lines.some((l) => l.stream === 'stderr' && /^tock \d+$/.test(l.line))).toBe(true);
      expect(lines.every((l) => l.time && !Number.isNaN(Date.parse(l.time)) && l.replica.length > 0)).toBe(true);
    },
    TIMEOUT,
  );

  it(
    'resumes the event stream after a cursor without repeating events',
    async () => {
      const read = async (since?: string): Promise<ClusterEvent[]> => {
        const controller = new AbortController();
        const events: ClusterEvent[] = [];
        const reading = (async () => {
          for await (const e of driver.events({ app, signal: controller.signal, ...(since ? { since } : {}) })) {
            events.push(e);
            if (events.length >= 3) controller.abort();
          }
        })();
        if (!since) {
          await new Promise((r) => setTimeout(r, 300));
          await driver.scale(web, 2);
          await driver.scale(web, 1);
        }
        await Promise.race([reading, new Promise((r) => setTimeout(r, 15_000))]);
        controller.abort();
        await reading;
        return events;
      };
      const first = await read();
      expect(first.length).toBeGreaterThanOrEqual(3);
      const resumed = await read(first[0]!.cursor);
      expect(resumed.length).toBeGreaterThan(0);
      expect(resumed.map((e) => e.id)).not.toContain(first[0]!.id);
      expect(resumed[0]!.id).toBe(first[1]!.id);
      expect(resumed.every((e) => BigInt(e.cursor) > BigInt(first[0]!.cursor))).toBe(true);
    },
    TIMEOUT,
  );

  it('says plainly when the engine cannot be reached', async () => {
    const nowhere = createSwarmDriver({ kind: 'swarm', socketPath: '/tmp/berth-no-such-docker.sock' });
    expect((await nowhere.health()).status).toBe('unreachable');
    await expect(nowhere.info()).rejects.toMatchObject({ code: DriverErrorCode.Unreachable });
  });
});
