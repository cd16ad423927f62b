import { createServer, connect as connectTcp, type Server, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { kubernetesSuite } from '@berth/testkit';
import { AppSpec } from '@berth/model';
import { DriverErrorCode, type ServiceRef, type VolumeInfo } from '@berth/driver';
import { createKubernetesDriver, type KubernetesDriver } from '@berth/driver-kubernetes';
import { KubernetesNativeProbe } from './kubernetes-native.probe.js';

// The read model (createKubernetesDriver(..., { readModel })): cached reads answered from informers,
// equal to the fresh ones, following changes made outside Berth.
const HEALTHY = 'berth-test/http:1';

async function last<T>(items: AsyncIterable<T>): Promise<T | undefined> {
  let end: T | undefined;
  for await (const item of items) end = item;
  return end;
}

/** An answer without its observation stamp, to compare a cached answer with a fresh one. */
function unstamped<T extends { observed?: unknown }>(items: T[]): Array<Omit<T, 'observed'>> {
  return items.map(({ observed: _, ...rest }) => rest);
}

/** Polls `probe` until it returns something other than undefined; returns it and how long it took. */
async function until<T>(what: string, probe: () => Promise<T | undefined>, boundMs = 60_000): Promise<{ value: T; ms: number }> {
  const started = Date.now();
  for (;;) {
    const value = await probe();
    if (value !== undefined) return { value, ms: Date.now() - started };
    if (Date.now() - started > boundMs) throw new Error(`${what}: not seen within ${boundMs / 1000}s`);
    await sleep(50);
  }
}

const kubeconfig = kubernetesSuite('kubernetes read model');
if (kubeconfig !== undefined) {
  const native = await KubernetesNativeProbe.connect(kubeconfig);
  const cached = { consistency: 'cached' } as const;

  describe('kubernetes read model', () => {
    const app = `k8s-rm-${Date.now().toString(36)}`;
    const web: ServiceRef = { app, service: 'web' };
    const api: ServiceRef = { app, service: 'api' };
    const db: ServiceRef = { app, service: 'db' };
    // The stateful service runs where claims bind and containers run: the real node (node-up.sh).
    const placement = { placement: { constraints: ['node.labels.berth-runtime == containers'] } };
    const spec = AppSpec.parse({
      name: app,
      services: {
        web: { image: HEALTHY, replicas: 2, ports: [{ target: 80 }, { target: 8080, protocol: 'udp' }] },
        api: { image: HEALTHY, replicas: 1 },
        db: { image: 'berth-test/busybox:1', replicas: 2, stateful: true, volumes: [{ type: 'named', source: 'data', target: '/data' }], ...placement },
      },
    });
    let driver: KubernetesDriver;

    /** Cached and fresh answers once they agree (the watch has caught up), both unstamped. */
    const settled = async () =>
      until('cached reads equal to fresh ones', async () => {
        const [services, fresh, volumes, freshVolumes] = await Promise.all([
          driver.listServices(app, cached),
          driver.listServices(app),
          driver.listVolumes(app, cached),
          driver.listVolumes(app),
        ]);
        const pair = { services, fresh, volumes, freshVolumes };
        const fromCache = [...services, ...volumes].every((s) => s.observed?.source === 'cache');
        const same =
          fromCache &&
          JSON.stringify(unstamped(services)) === JSON.stringify(unstamped(fresh)) &&
          JSON.stringify(unstamped(volumes)) === JSON.stringify(unstamped(freshVolumes));
        return same ? pair : undefined;
      });

    beforeAll(async () => {
      // A short resync, so that relisting runs (and must keep the answers right) during the tests.
      driver = createKubernetesDriver({ kind: 'kubernetes', kubeconfig }, { readModel: { resyncMs: 5_000 } });
      await driver.apply(spec);
      for (const ref of [web, api, db]) expect(await last(driver.followRollout(ref, { pollIntervalMs: 250 }))).toMatchObject({ state: 'completed' });
    }, 150_000);

    afterAll(async () => {
      await driver?.remove(app, { volumes: true }).catch(() => undefined);
      await driver?.close();
    });

    it('once settled, cached listServices, getService and listVolumes equal the fresh answers, and say they come from the cache', async () => {
      const { value } = await settled();
      const { services, fresh, volumes, freshVolumes } = value;
      expect(unstamped(services)).toEqual(unstamped(fresh));
      expect(unstamped(volumes)).toEqual(unstamped(freshVolumes));
      expect(services.map((s) => s.service)).toEqual(['api', 'db', 'web']);
      expect(services.every((s) => s.observed?.source === 'cache')).toBe(true);
      expect(fresh.every((s) => s.observed?.source === 'orchestrator')).toBe(true);
      // what is compared is the real thing: a stateful service with its members, published ports, claims per member
      const dbStatus = services.find((s) => s.service === 'db')!;
      expect(dbStatus).toMatchObject({ stateful: true, replicas: { desired: 2, ready: 2 } });
      expect(dbStatus.discovery.endpoints.map((e) => e.replica)).toEqual(['0', '1']);
      expect(services.find((s) => s.service === 'web')!.discovery.ports).toEqual([
        expect.objectContaining({ target: 80, protocol: 'tcp' }),
        expect.objectContaining({ target: 8080, protocol: 'udp' }),
      ]);
      expect(volumes.map((v: VolumeInfo) => v.name)).toEqual(['data-0', 'data-1']);
      expect(volumes.every((v) => v.observed?.source === 'cache')).toBe(true);

      for (const ref of [web, api, db]) {
        const [one, freshOne] = await Promise.all([driver.getService(ref, cached), driver.getService(ref)]);
        expect(one.observed?.source).toBe('cache');
        expect(unstamped([one])).toEqual(unstamped([freshOne]));
        expect(await driver.rolloutStatus(ref, cached)).toEqual(await driver.rolloutStatus(ref));
      }
      expect(await driver.listApps(cached)).toEqual(await driver.listApps());
      expect((await driver.listApps(cached)).find((a) => a.name === app)).toEqual({ name: app, services: ['api', 'db', 'web'] });
    }, 90_000);

    it('follows changes made outside Berth: a scale, a new image, a deletion', async () => {
      const report = (what: string, ms: number) => process.stderr.write(`read model: ${what} seen in cached reads after ${ms} ms\n`);
      const cachedApi = () => driver.getService(api, cached).catch(() => undefined);

      const scale = await native.apps.readNamespacedDeploymentScale({ namespace: app, name: 'api' });
      scale.spec = { replicas: 3 };
      await native.apps.replaceNamespacedDeploymentScale({ namespace: app, name: 'api', body: scale });
      const scaled = await until('replicas 3', async () => {
        const s = await cachedApi();
        return s?.replicas.desired === 3 && s.observed?.source === 'cache' ? s : undefined;
      });
      report('a scale to 3 replicas', scaled.ms);

      // read, change, replace; again when the controller wrote its status in between (409 Conflict)
      for (let attempt = 0; ; attempt++) {
        const deployment = await native.apps.readNamespacedDeployment({ namespace: app, name: 'api' });
        deployment.spec!.template.spec!.containers[0]!.image = 'berth-test/http:2';
        const replaced = await native.apps.replaceNamespacedDeployment({ namespace: app, name: 'api', body: deployment }).catch((e: unknown) => {
          if ((e as { code?: number }).code === 409 && attempt < 10) return undefined;
          throw e;
        });
        if (replaced) break;
      }
      const imaged = await until('the new image', async () => {
        const s = await cachedApi();
        return s?.image === 'berth-test/http:2' ? s : undefined;
      });
      report('a new image', imaged.ms);

      await native.apps.deleteNamespacedDeployment({ namespace: app, name: 'api' });
      const gone = await until('the deletion', async () => {
        const services = await driver.listServices(app, cached);
        return services.some((s) => s.service === 'api') ? undefined : services;
      });
      report('a deletion', gone.ms);
      expect(gone.value.every((s) => s.observed?.source === 'cache')).toBe(true);
      await expect(driver.getService(api, cached)).rejects.toMatchObject({ code: DriverErrorCode.NotFound });
    }, 90_000);

    it('reads its own writes: right after scale(), a cached read shows the new count', async () => {
      await driver.scale(web, 3);
      const right = await driver.getService(web, cached);
      expect(right.replicas.desired).toBe(3);
      // within the write window the read went to the API server ...
      expect(right.observed?.source).toBe('orchestrator');
      expect((await driver.listServices(app, cached)).find((s) => s.service === 'web')?.replicas.desired).toBe(3);
      // ... and after it, the read model has the write too
      const later = await until('a cached answer after the write window', async () => {
        const s = await driver.getService(web, cached);
        return s.observed?.source === 'cache' ? s : undefined;
      });
      expect(later.value.replicas.desired).toBe(3);
    }, 60_000);

    it('reports itself live, with what it holds, and lists again periodically', async () => {
      const status = await driver.readModel();
      expect(status.state).toBe('live');
      expect(status.syncedAt).toEqual(expect.any(String));
      expect(status.reads.cached).toBeGreaterThan(0);
      expect(status.reads.fresh).toBeGreaterThan(0);
      const objects = status.objects;
      expect(objects.Deployment).toBeGreaterThanOrEqual(1);
      expect(objects.StatefulSet).toBeGreaterThanOrEqual(1);
      expect(objects.Pod).toBeGreaterThanOrEqual(5);
      expect(objects.Service).toBeGreaterThanOrEqual(2);
      expect(objects.EndpointSlice).toBeGreaterThanOrEqual(1);
      expect(objects.Namespace).toBeGreaterThanOrEqual(1);
      expect(objects.PersistentVolumeClaim).toBeGreaterThanOrEqual(2);
      expect(Object.keys(objects).sort()).toEqual(
        ['DaemonSet', 'Deployment', 'EndpointSlice', 'Namespace', 'PersistentVolumeClaim', 'Pod', 'ReplicaSet', 'Service', 'StatefulSet'].sort(),
      );
      const resynced = await until('a periodic relist', async () => {
        const s = await driver.readModel();
        return s.resyncs >= 1 && s.state === 'live' ? s : undefined;
      });
      expect(resynced.value.reconnects).toBe(0);
      // and a driver made without one says so
      const plain = createKubernetesDriver({ kind: 'kubernetes', kubeconfig });
      expect((await plain.readModel()).state).toBe('off');
      await plain.close();
    }, 60_000);

    it('an unknown service is NotFound, as in a fresh read', async () => {
      const ref = { app, service: 'nope' };
      const fresh = await driver.getService(ref).catch((e: unknown) => e);
      const fromCache = await driver.getService(ref, cached).catch((e: unknown) => e);
      expect(fresh).toMatchObject({ code: DriverErrorCode.NotFound });
      expect(fromCache).toMatchObject({ code: DriverErrorCode.NotFound, message: (fresh as Error).message });
      await expect(driver.rolloutStatus(ref, cached)).rejects.toMatchObject({ code: DriverErrorCode.NotFound });
      expect((await driver.readModel()).state).toBe('live');
    });

    it('answers a cached read of an app that does not exist as a fresh one does', async () => {
      const other = `${app}-none`;
      expect(await driver.listServices(other, cached)).toEqual([]);
      expect(await driver.listVolumes(other, cached)).toEqual([]);
      await expect(driver.getService({ app: other, service: 'web' }, cached)).rejects.toMatchObject({ code: DriverErrorCode.NotFound });
    });
  });

  describe('kubernetes read model: a lost watch', () => {
    // The driver reaches the API server through a TCP relay the test can cut, as a network would.
    const server = /server: https:\/\/127\.0\.0\.1:(\d+)/.exec(kubeconfig);
    if (!server) throw new Error('the test kubeconfig has no https://127.0.0.1:<port> server');
    const apiPort = Number(server[1]);
    const sockets = new Set<Socket>();
    let relay: Server | undefined;
    let port = 0;
    const open = () =>
      new Promise<void>((resolve) => {
        relay = createServer((client) => {
          const upstream = connectTcp(apiPort, '127.0.0.1');
          for (const s of [client, upstream]) {
            sockets.add(s);
            s.on('close', () => sockets.delete(s));
            s.on('error', () => undefined);
          }
          client.pipe(upstream).pipe(client);
        });
        relay.listen(port, '127.0.0.1', () => {
          port = (relay!.address() as { port: number }).port;
          resolve();
        });
      });
    const cut = () =>
      new Promise<void>((resolve) => {
        relay?.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
    let driver: KubernetesDriver;

    beforeAll(async () => {
      await open();
      driver = createKubernetesDriver(
        { kind: 'kubernetes', kubeconfig: kubeconfig.replace(`https://127.0.0.1:${apiPort}`, `https://127.0.0.1:${port}`) },
        { readModel: true },
      );
      await until('the read model live', async () => ((await driver.readModel()).state === 'live' ? true : undefined));
    }, 60_000);

    afterAll(async () => {
      await driver?.close();
      await cut();
    });

    it('sends reads to the API server while the watch is lost, and lists again once it is back', async () => {
      await cut();
      const lost = await until('the read model stale', async () => {
        const s = await driver.readModel();
        return s.state === 'stale' ? s : undefined;
      });
      expect(lost.value.error).toEqual(expect.any(String));
      // not answered from memory: the API server is asked, and cannot be reached
      await expect(driver.listVolumes(undefined, cached)).rejects.toMatchObject({ code: DriverErrorCode.Unreachable });
      await open();
      const back = await until('the read model live again', async () => {
        const s = await driver.readModel();
        return s.state === 'live' ? s : undefined;
      });
      process.stderr.write(`read model: live again ${back.ms} ms after the API server was reachable again\n`);
      expect(back.value.reconnects).toBe(1);
      const [volumes, fresh] = await Promise.all([driver.listVolumes(undefined, cached), driver.listVolumes()]);
      expect(volumes.every((v) => v.observed?.source === 'cache')).toBe(true);
      expect(unstamped(volumes)).toEqual(unstamped(fresh));
      expect(await driver.listApps(cached)).toEqual(await driver.listApps());
    }, 90_000);
  });
}
