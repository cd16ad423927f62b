import { readFileSync } from 'node:fs';
import { describe, it } from '@jest/globals';
import { runConformanceSuite } from '@berth/testkit';
import { createKubernetesDriver } from '@berth/driver-kubernetes';
import { KubernetesNativeProbe } from './kubernetes-native.probe.js';

// The images packages/testenv/swarm/up.sh builds, imported into the real node's containerd by
// packages/testenv/k8s/node-up.sh (no registry here: pulled IfNotPresent, never from a registry).
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
  // The suite runs where containers run: the test cluster's real node (node-up.sh), chosen by a
  // placement constraint on its label, as a user would pick nodes. No fallback onto kwok nodes.
  const realNodes = await native.core.listNode({ labelSelector: 'berth-runtime=containers' });
  if (!realNodes.items.some((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))) {
    throw new Error('the test cluster has no Ready node labelled berth-runtime=containers: run packages/testenv/k8s/node-up.sh');
  }
  runConformanceSuite({
    name: 'kubernetes',
    createDriver: async () => createKubernetesDriver({ kind: 'kubernetes', kubeconfig }),
    images,
    native,
    runsContainers: true,
    constraints: ['node.labels.berth-runtime == containers'],
    timeoutMs: 120_000,
  });
}
