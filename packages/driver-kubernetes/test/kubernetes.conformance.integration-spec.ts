import { runConformanceSuite, kubernetesSuite } from '@berth/testkit';
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

const kubeconfig = kubernetesSuite('driver conformance: kubernetes');
if (kubeconfig !== undefined) {
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
