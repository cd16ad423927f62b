import { readFileSync } from 'node:fs';
import { describe, it } from '@jest/globals';
import { runConformanceSuite } from '@berth/testkit';
import { createKubernetesDriver } from '@berth/driver-kubernetes';
import { KubernetesNativeProbe } from './kubernetes-native.probe.js';

// No image is pulled on kwok; these names only steer the kwok stages of packages/testenv/k8s/stages:
// pods of berth-test/unhealthy:1 never become ready, job pods of berth-test/job:fail fail with exit 3.
const images = {
  http1: 'berth-test/http:1',
  http2: 'berth-test/http:2',
  failing: 'berth-test/unhealthy:1',
  jobOk: 'berth-test/job:ok',
  jobFail: 'berth-test/job:fail',
  shell: 'berth-test/busybox:1',
};

if (process.env.BERTH_SKIP_KUBERNETES === '1') {
  // Written to stderr directly: jest drops console output of a file whose tests are all skipped.
  process.stderr.write('\n*** BERTH_SKIP_KUBERNETES=1: the Kubernetes driver conformance suite is SKIPPED (nothing about Kubernetes was tested) ***\n\n');
  describe.skip('driver conformance: kubernetes', () => {
    it('needs a Kubernetes API server (packages/testenv/k8s/up.sh)', () => undefined);
  });
} else {
  // No fallback: a run meant to test Kubernetes fails (here, at load) when it has no cluster.
  const path = process.env.BERTH_KUBECONFIG;
  if (!path) throw new Error('BERTH_KUBECONFIG is not set: run packages/testenv/k8s/up.sh, or set BERTH_SKIP_KUBERNETES=1');
  const kubeconfig = readFileSync(path, 'utf8');
  const native = await KubernetesNativeProbe.connect(kubeconfig);
  runConformanceSuite({
    name: 'kubernetes',
    createDriver: async () => createKubernetesDriver({ kind: 'kubernetes', kubeconfig }),
    images,
    native,
    // kwok simulates kubelets: pods become Ready and jobs complete, but no container runs.
    runsContainers: false,
    timeoutMs: 90_000,
  });
}
