import { readFileSync } from 'node:fs';
import { describe, it } from '@jest/globals';

/**
 * The kubeconfig (its text) that a Kubernetes integration test file runs against: BERTH_KUBECONFIG,
 * as packages/testenv/k8s/up.sh writes it. With BERTH_SKIP_KUBERNETES=1 it registers `suite` as a
 * skipped suite, says so on stderr and returns undefined. No fallback: a run meant to test
 * Kubernetes fails (at load) when it has no cluster.
 */
export function kubernetesSuite(suite: string): string | undefined {
  if (process.env.BERTH_SKIP_KUBERNETES === '1') {
    // Written to stderr directly: jest drops console output of a file whose tests are all skipped.
    process.stderr.write(`\n*** BERTH_SKIP_KUBERNETES=1: ${suite} SKIPPED (nothing about Kubernetes was tested) ***\n\n`);
    describe.skip(suite, () => {
      it('needs a Kubernetes API server (packages/testenv/k8s/up.sh)', () => undefined);
    });
    return undefined;
  }
  const path = process.env.BERTH_KUBECONFIG;
  if (!path) throw new Error('BERTH_KUBECONFIG is not set: run packages/testenv/k8s/up.sh, or set BERTH_SKIP_KUBERNETES=1');
  return readFileSync(path, 'utf8');
}
