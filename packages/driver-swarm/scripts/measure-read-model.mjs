// Cached vs fresh listServices of one app of N services on the engine, and the read model's heap.
// Build first (pnpm run build), then:
//   node --expose-gc packages/driver-swarm/scripts/measure-read-model.mjs [services=100] [rounds=30]
// A measurement, not a test: it prints numbers and asserts nothing. It creates app `rmm-<time>` and removes it.
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppSpec } from '@berth/model';
import { createSwarmDriver } from '../dist/index.js';

const count = Number(process.argv[2] ?? 100);
const rounds = Number(process.argv[3] ?? 30);
const socketPath = process.env.BERTH_DOCKER_SOCKET ?? '/var/run/docker.sock';
const app = `rmm-${Date.now().toString(36)}`;
const services = Object.fromEntries(Array.from({ length: count }, (_, i) => [`s${String(i).padStart(3, '0')}`, { image: 'berth-test/pause:1', replicas: 1 }]));
const cached = { consistency: 'cached' };
const gc = globalThis.gc ?? (() => undefined);
const heap = () => (gc(), gc(), process.memoryUsage().heapUsed);
const strip = (list) => JSON.stringify(list.map(({ observed: _o, ...rest }) => rest));

async function time(read) {
  const ms = [];
  for (let i = 0; i < rounds; i++) {
    const started = performance.now();
    await read();
    ms.push(performance.now() - started);
  }
  ms.sort((a, b) => a - b);
  return { median: ms[Math.floor(ms.length / 2)], min: ms[0], max: ms[ms.length - 1] };
}

const writer = createSwarmDriver({ kind: 'swarm', socketPath });
let driver;
try {
  console.log(`applying ${count} services in app ${app} ...`);
  await writer.apply(AppSpec.parse({ name: app, services }));
  for (;;) {
    const list = await writer.listServices(app);
    const running = list.filter((s) => s.replicas.running === 1).length;
    if (list.length === count && running === count) break;
    await sleep(1000);
  }

  const before = heap();
  driver = createSwarmDriver({ kind: 'swarm', socketPath }, { readModel: true });
  for (;;) {
    const s = await driver.readModel();
    if (s.state === 'live') break;
    await sleep(50);
  }
  for (;;) {
    const [a, b] = [await driver.listServices(app, cached), await driver.listServices(app)];
    if (a[0]?.observed?.source === 'cache' && strip(a) === strip(b)) break;
    await sleep(100);
  }
  const held = heap() - before;
  const status = await driver.readModel();

  const fresh = await time(() => driver.listServices(app));
  const fromCache = await time(() => driver.listServices(app, cached));
  const one = await time(() => driver.getService({ app, service: 's050' }, cached));
  const oneFresh = await time(() => driver.getService({ app, service: 's050' }));
  const f = (t) => `median ${t.median.toFixed(2)} ms (min ${t.min.toFixed(2)}, max ${t.max.toFixed(2)})`;
  console.log(`objects held: ${JSON.stringify(status.objects)} (every Berth service on the engine, not only this app's)`);
  console.log(
    `heap of the read model (incl. the driver): ${(held / 1024 / 1024).toFixed(2)} MiB${globalThis.gc ? '' : ' (run with --expose-gc for a steadier number)'}`,
  );
  console.log(`listServices(${count} services) fresh:  ${f(fresh)}`);
  console.log(`listServices(${count} services) cached: ${f(fromCache)}  -> ${(fresh.median / fromCache.median).toFixed(1)}x`);
  console.log(`getService fresh:  ${f(oneFresh)}`);
  console.log(`getService cached: ${f(one)}  -> ${(oneFresh.median / one.median).toFixed(1)}x`);
} finally {
  await driver?.close();
  await writer.remove(app, { volumes: true });
  await writer.close();
}
