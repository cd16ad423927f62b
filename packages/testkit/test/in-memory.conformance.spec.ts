import { afterAll, expect } from '@jest/globals';
import { InMemoryCluster, InMemoryNativeProbe, createInMemoryDriver, runConformanceSuite } from '@berth/testkit';

// The in-memory driver stands in for either orchestrator in the gateway's unit tests, so it passes
// the same scenarios as both real drivers, once for each kind it can pretend to be.
const images = {
  http1: 'berth-test/http:1',
  http2: 'berth-test/http:2',
  failing: 'berth-test/unhealthy:1',
  jobOk: 'berth-test/job:ok',
  jobFail: 'berth-test/job:fail',
  shell: 'berth-test/busybox:1',
};

for (const kind of ['swarm', 'kubernetes'] as const) {
  // A tenth of real time: the suite samples replicas every 200 ms and must see the 3 s delay
  // between two batches; replicas and job runs take 200 ms of simulated time to start.
  const cluster = new InMemoryCluster({ timeScale: 0.1, replicaStartMs: 200, jobRunMs: 200 });
  afterAll(() => {
    expect(cluster.errors).toEqual([]);
    cluster.dispose();
  });
  runConformanceSuite({
    name: `in-memory-${kind}`,
    createDriver: async () => createInMemoryDriver(cluster, { kind }),
    images,
    native: new InMemoryNativeProbe(cluster, kind),
    runsContainers: false,
    simulates: { exitCodes: true, logs: true, stats: true },
    timeoutMs: 20_000,
  });
}
