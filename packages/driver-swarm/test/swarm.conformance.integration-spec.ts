import { describe, it } from '@jest/globals';
import { runConformanceSuite } from '@berth/testkit';
import { createSwarmDriver } from '@berth/driver-swarm';
import { SwarmNativeProbe } from './swarm-native.probe.js';

// The images packages/testenv/swarm/up.sh builds with `docker import` (no registry here).
const images = {
  http1: 'berth-test/http:1',
  http2: 'berth-test/http:2',
  failing: 'berth-test/unhealthy:1',
  jobOk: 'berth-test/job:ok',
  jobFail: 'berth-test/job:fail',
  shell: 'berth-test/busybox:1',
};

if (process.env.BERTH_SKIP_SWARM === '1') {
  console.warn('\n*** BERTH_SKIP_SWARM=1: the Swarm driver conformance suite is SKIPPED (nothing about Swarm was tested) ***\n');
  describe.skip('driver conformance: swarm', () => {
    it('needs a Docker engine in swarm mode (packages/testenv/swarm/up.sh)', () => undefined);
  });
} else {
  // No fallback socket: a run that was meant to test Swarm must fail when it has no engine.
  const socketPath = process.env.BERTH_DOCKER_SOCKET;
  runConformanceSuite({
    name: 'swarm',
    createDriver: async () => {
      if (!socketPath) throw new Error('BERTH_DOCKER_SOCKET is not set: run packages/testenv/swarm/up.sh, or set BERTH_SKIP_SWARM=1');
      return createSwarmDriver({ kind: 'swarm', socketPath });
    },
    images,
    native: new SwarmNativeProbe(socketPath ?? '/var/run/docker.sock'),
    runsContainers: true,
    timeoutMs: 120_000,
  });
}
