import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppSpec, type AppSpecInput } from '@berth/model';
import { DriverErrorCode, LABEL, type ReadModelStatus, type RolloutStatus, type ServiceRef } from '@berth/driver';
import { createSwarmDriver, type SwarmDriver } from '@berth/driver-swarm';
import { SwarmEngine } from '../src/swarm-engine.client.js';

/**
 * The Swarm driver's watch-fed read model against the engine: cached reads equal fresh ones once
 * the events have been followed, changes made outside Berth reach it, a write is read back at once,
 * and a broken event stream is noticed and recovered from.
 *
 * The driver talks to the engine through a TCP proxy in this test, so that the test can cut its
 * connections (the event stream among them) the way a network failure would.
 */

const skip = process.env.BERTH_SKIP_SWARM === '1';
if (skip) console.warn('\n*** BERTH_SKIP_SWARM=1: the Swarm read model integration tests are SKIPPED ***\n');
const socketPath = process.env.BERTH_DOCKER_SOCKET ?? '';
const TIMEOUT = 90_000;
/** How long a change may take to reach the read model before the test gives up (not a speed goal). */
const BOUND_MS = 10_000;
const cached = { consistency: 'cached' } as const;

const app = `rms-${Date.now().toString(36)}`;
const input: AppSpecInput = {
  name: app,
  services: {
    web: {
      image: 'berth-test/http:1',
      replicas: 2,
      // an ingress port the engine assigns: read back from the service's Endpoint
      ports: [{ target: 80 }],
      update: { parallelism: 2, order: 'stop-first', monitor: '1s' },
    },
    db: {
      image: 'berth-test/busybox:1',
      replicas: 2,
      stateful: true,
      hostname: 'db',
      volumes: [{ type: 'named', source: 'data', target: '/data' }],
      update: { parallelism: 1, monitor: '1s' },
    },
    side: {
      image: 'berth-test/busybox:1',
      replicas: 1,
      entrypoint: ['sh', '-c'],
      command: ['while true; do sleep 1; done'],
    },
  },
};
const spec = AppSpec.parse(input);
const web: ServiceRef = { app, service: 'web' };
const db: ServiceRef = { app, service: 'db' };
const side: ServiceRef = { app, service: 'side' };

/** Forwards TCP connections to the engine's socket; `cut()` drops every open one. */
async function engineProxy(): Promise<{ port: number; cut: () => number; close: () => Promise<void> }> {
  const open = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(socketPath);
    open.add(client);
    client.on('close', () => open.delete(client));
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    cut: () => {
      const n = open.size;
      for (const s of open) s.destroy();
      return n;
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

const strip = <T extends { observed?: unknown }>(items: T[]): Omit<T, 'observed'>[] => items.map(({ observed: _o, ...rest }) => rest);

/** Runs `check` until it passes or the bound runs out (then its last failure is the test's); answers the time it took. */
async function eventually(what: string, check: () => Promise<void>, boundMs = BOUND_MS): Promise<number> {
  const started = performance.now();
  for (;;) {
    try {
      await check();
      const ms = Math.round(performance.now() - started);
      console.log(`read model: ${what} after ${ms} ms`);
      return ms;
    } catch (err) {
      if (performance.now() - started > boundMs) throw err;
      await sleep(50);
    }
  }
}

async function lastOf<T>(items: AsyncIterable<T>): Promise<T | undefined> {
  let last: T | undefined;
  for await (const i of items) last = i;
  return last;
}

(skip ? describe.skip : describe)('SwarmDriver read model against the engine', () => {
  let driver: SwarmDriver;
  let engine: SwarmEngine;
  let proxy: Awaited<ReturnType<typeof engineProxy>>;
  const follow = async (ref: ServiceRef): Promise<RolloutStatus | undefined> =>
    lastOf(driver.followRollout(ref, { signal: AbortSignal.timeout(TIMEOUT), pollIntervalMs: 250 }));
  const status = (): Promise<ReadModelStatus> => driver.readModel();

  /** Cached reads of the app equal fresh ones (apart from `observed`), and really come from the read model. */
  const sameAsFresh = async (): Promise<void> => {
    const asked = Date.now();
    const list = await driver.listServices(app, cached);
    expect(list.every((s) => s.observed?.source === 'cache')).toBe(true);
    // settled, with the stream connected: known current up to the read itself
    expect(Date.parse(list[0]!.observed!.observedAt)).toBeGreaterThanOrEqual(asked);
    expect(strip(list)).toEqual(strip(await driver.listServices(app)));
    for (const ref of [web, db, side]) {
      const one = await driver.getService(ref, cached);
      expect(one.observed?.source).toBe('cache');
      expect(strip([one])).toEqual(strip([await driver.getService(ref)]));
      expect(await driver.rolloutStatus(ref, cached)).toEqual(await driver.rolloutStatus(ref));
    }
    const volumes = await driver.listVolumes(app, cached);
    expect(volumes.every((v) => v.observed?.source === 'cache')).toBe(true);
    expect(strip(volumes)).toEqual(strip(await driver.listVolumes(app)));
    const apps = await driver.listApps(cached);
    expect(apps.find((a) => a.name === app)).toEqual((await driver.listApps()).find((a) => a.name === app));
  };

  beforeAll(async () => {
    proxy = await engineProxy();
    engine = new SwarmEngine({ kind: 'swarm', socketPath });
    driver = createSwarmDriver({ kind: 'swarm', host: `tcp://127.0.0.1:${proxy.port}` }, { readModel: { writeWindowMs: 1000 } });
    await driver.apply(spec);
    for (const ref of [web, db, side]) expect((await follow(ref))?.state).toBe('completed');
  }, TIMEOUT * 2);

  afterAll(async () => {
    await driver?.remove(app, { volumes: true });
    await driver?.close();
    await proxy?.close();
  }, TIMEOUT);

  it('once settled, answers cached reads as the engine does: a stateful member set as one service, engine-assigned ports, volumes', async () => {
    await eventually('live', async () => expect((await status()).state).toBe('live'));
    await eventually('cached reads equal fresh ones', sameAsFresh);

    const services = strip(await driver.listServices(app, cached));
    expect(services.map((s) => s.service)).toEqual(['db', 'side', 'web']);
    const members = services.find((s) => s.service === 'db')!;
    expect(members).toMatchObject({ stateful: true, replicas: { desired: 2, running: 2 } });
    expect(members.discovery.endpoints.map((e) => e.replica)).toEqual(['0', '1']);
    const ports = services.find((s) => s.service === 'web')!.discovery.ports;
    expect(ports).toEqual([expect.objectContaining({ target: 80, mode: 'ingress', published: expect.any(Number) })]);
    // each member's named volume, created by the engine when its task started
    expect((await driver.listVolumes(app, cached)).filter((v) => v.name.includes('data'))).toHaveLength(2);

    const model = await status();
    expect(model.objects.services).toBeGreaterThanOrEqual(4);
    expect(model.objects.tasks).toBeGreaterThanOrEqual(5);
    expect(model.objects.nodes).toBeGreaterThanOrEqual(1);
    expect(model.objects.volumes).toBeGreaterThanOrEqual(2);
    expect(model.reads.cached).toBeGreaterThan(0);
  });

  it('follows changes made outside Berth: replicas, image, a removed service, a labelled volume', async () => {
    const native = async (ref: ServiceRef) => (await engine.findService(`${ref.app}_${ref.service}`))!;

    const before = await native(web);
    await engine.updateService(before.ID, before.Version.Index, { ...before.Spec, Mode: { Replicated: { Replicas: 3 } } });
    await eventually('an outside scale (desired)', async () => expect((await driver.getService(web, cached)).replicas.desired).toBe(3));
    await eventually('an outside scale (running)', async () => expect((await driver.getService(web, cached)).replicas.running).toBe(3));

    const scaled = await native(web);
    const image = 'berth-test/http:2';
    await engine.updateService(scaled.ID, scaled.Version.Index, {
      ...scaled.Spec,
      TaskTemplate: { ...scaled.Spec.TaskTemplate, ContainerSpec: { ...scaled.Spec.TaskTemplate.ContainerSpec, Image: image } },
    });
    await eventually('an outside image update', async () => expect((await driver.getService(web, cached)).image).toBe(image));
    // the engine's own rollout takes as long as it takes; then the read model has its end
    expect((await follow(web))?.state).toBe('completed');
    await eventually('the end of that rollout', async () => {
      const rollout = await driver.rolloutStatus(web, cached);
      expect(rollout).toMatchObject({ state: 'completed', replicas: { updated: 3, running: 3 } });
      expect(rollout).toEqual(await driver.rolloutStatus(web));
    });

    const removed = await native(side);
    await engine.removeService(removed.ID, removed.Spec.Name);
    await eventually('an outside remove', async () => {
      await expect(driver.getService(side, cached)).rejects.toMatchObject({ code: DriverErrorCode.NotFound });
      expect((await driver.listServices(app, cached)).map((s) => s.service)).toEqual(['db', 'web']);
    });

    const volume = `${app}_outside`;
    await engine.createVolume(volume, 'local', undefined, { [LABEL.app]: app });
    await eventually('an outside volume', async () => {
      const volumes = await driver.listVolumes(app, cached);
      expect(volumes.find((v) => v.nativeName === volume)).toMatchObject({ name: 'outside', app, observed: { source: 'cache' } });
    });
    await engine.removeVolume(volume);
    await eventually('an outside volume removed', async () => expect((await driver.listVolumes(app, cached)).map((v) => v.nativeName)).not.toContain(volume));

    // and the whole app still reads as the engine has it
    await eventually('cached reads equal fresh ones again', async () => {
      const list = await driver.listServices(app, cached);
      expect(list.every((s) => s.observed?.source === 'cache')).toBe(true);
      expect(strip(list)).toEqual(strip(await driver.listServices(app)));
      expect(strip(await driver.listVolumes(app, cached))).toEqual(strip(await driver.listVolumes(app)));
    });
  });

  it('reads its own writes: right after scale() a cached read shows the new count', async () => {
    await driver.scale(web, 1);
    const read = await driver.getService(web, cached);
    expect(read.replicas.desired).toBe(1);
    // and once the write window has passed, the read model has it too
    await eventually('a scale through Berth, from the read model', async () => {
      const later = await driver.getService(web, cached);
      expect(later.observed?.source).toBe('cache');
      expect(later.replicas.desired).toBe(1);
    });
  });

  it('notices a broken event stream, answers reads from the engine meanwhile, and lists everything again', async () => {
    await eventually('live', async () => expect((await status()).state).toBe('live'));
    const before = await status();
    expect(before.reconnects).toBe(0);

    expect(proxy.cut()).toBeGreaterThan(0);
    await eventually('the broken stream noticed', async () => expect((await status()).reconnects).toBe(1));
    // reads answer as the engine has it, from the engine until the read model is listed again
    expect(strip(await driver.listServices(app, cached))).toEqual(strip(await driver.listServices(app)));
    expect((await driver.getService(db, cached)).replicas.desired).toBe(2);

    await eventually('reconnected and listed again', async () => {
      const after = await status();
      expect(after).toMatchObject({ state: 'live', reconnects: 1 });
      expect(after.resyncs).toBeGreaterThan(before.resyncs);
      expect(after.error).toBeUndefined();
    });
    // a change while it was reconnecting is there, and the stream is followed again
    const current = await engine.findService(`${app}_web`);
    await engine.updateService(current!.ID, current!.Version.Index, { ...current!.Spec, Mode: { Replicated: { Replicas: 2 } } });
    await eventually('a change after the reconnect', async () => expect((await driver.getService(web, cached)).replicas.desired).toBe(2));
    await eventually('cached reads equal fresh ones after the reconnect', async () => {
      const list = await driver.listServices(app, cached);
      expect(list.every((s) => s.observed?.source === 'cache')).toBe(true);
      expect(strip(list)).toEqual(strip(await driver.listServices(app)));
    });
  });

  it('answers a cached read of an unknown service with the same NotFound as a fresh one', async () => {
    const ref = { app, service: 'nope' };
    const fresh = await driver.getService(ref).catch((e: unknown) => e);
    const fromCache = await driver.getService(ref, cached).catch((e: unknown) => e);
    expect(fresh).toMatchObject({ code: DriverErrorCode.NotFound });
    expect(fromCache).toEqual(fresh);
    expect((fromCache as Error).message).toBe((fresh as Error).message);
    await expect(driver.rolloutStatus(ref, cached)).rejects.toMatchObject({ code: DriverErrorCode.NotFound, message: (fresh as Error).message });
    expect(await driver.listServices('rms-no-such-app', cached)).toEqual([]);
    expect((await status()).reads.cached).toBeGreaterThan(0);
  });
});
