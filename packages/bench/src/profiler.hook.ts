/**
 * Loaded into the gateway with `node --import` when the benchmark profiles it. The benchmark asks
 * for a profile by creating `<BERTH_BENCH_PROFILE_OUT>.start`, and for the result by creating
 * `<BERTH_BENCH_PROFILE_OUT>.stop`: V8's sampling CPU profiler then runs in between, and the profile
 * (Chrome .cpuprofile JSON) is written to BERTH_BENCH_PROFILE_OUT. `<...>.mem` asks for where the
 * memory is (process.memoryUsage before and after a full garbage collection, V8's heap spaces), written to `<...>.mem.json`; `<...>.usage` for process.memoryUsage() as it is, without a collection, in `<...>.usage.json`; `<...>.heap` for a
 * heap snapshot at `<...>.heapsnapshot` (DevTools format). Files, not signals: Nest's
 * shutdown hooks treat SIGUSR2 as a stop signal, and SIGUSR1 belongs to the inspector.
 */
import { existsSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { getHeapSpaceStatistics, setFlagsFromString, writeHeapSnapshot } from 'node:v8';
import { runInNewContext } from 'node:vm';

const out = process.env.BERTH_BENCH_PROFILE_OUT;
if (out) {
  const session = new Session();
  session.connect();
  let running = false;
  setInterval(() => {
    if (existsSync(`${out}.mem`)) {
      rmSync(`${out}.mem`, { force: true });
      const before = process.memoryUsage();
      // a full collection first: what stays is retained, not garbage waiting for the collector
      setFlagsFromString('--expose-gc');
      (runInNewContext('gc') as () => void)();
      const report = { before, memory: process.memoryUsage(), heapSpaces: getHeapSpaceStatistics() };
      writeFileSync(`${out}.mem.tmp`, JSON.stringify(report));
      renameSync(`${out}.mem.tmp`, `${out}.mem.json`);
    }
    if (existsSync(`${out}.usage`)) {
      // no collection: the memory as it is at this moment, for samples taken under load
      rmSync(`${out}.usage`, { force: true });
      writeFileSync(`${out}.usage.tmp`, JSON.stringify(process.memoryUsage()));
      renameSync(`${out}.usage.tmp`, `${out}.usage.json`);
    }
    if (existsSync(`${out}.heap`)) {
      rmSync(`${out}.heap`, { force: true });
      renameSync(writeHeapSnapshot(`${out}.heapsnapshot.tmp`), `${out}.heapsnapshot`);
    }
    if (!running && existsSync(`${out}.start`)) {
      rmSync(`${out}.start`, { force: true });
      running = true;
      session.post('Profiler.enable', () => session.post('Profiler.setSamplingInterval', { interval: 200 }, () => session.post('Profiler.start')));
    } else if (running && existsSync(`${out}.stop`)) {
      rmSync(`${out}.stop`, { force: true });
      running = false;
      session.post('Profiler.stop', (err, result) => {
        writeFileSync(`${out}.tmp`, err ? JSON.stringify({ error: String(err) }) : JSON.stringify(result.profile));
        // a rename is atomic: the benchmark never reads half a profile
        renameSync(`${out}.tmp`, out);
      });
    }
  }, 50).unref();
}
