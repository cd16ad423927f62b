import { KubernetesDriver, type KubernetesDriverOptions } from './kubernetes.driver.js';
import type { KubernetesConnection } from './kubernetes.client.js';

export { KubernetesDriver };
export type { KubernetesConnection, KubernetesDriverOptions };

/**
 * The Kubernetes driver for one cluster, from its kubeconfig content and (optionally) a context.
 * `{ readModel: true }` keeps a watch-fed read model for reads that ask for `consistency: 'cached'`.
 */
export function createKubernetesDriver(conn: KubernetesConnection, options: KubernetesDriverOptions = {}): KubernetesDriver {
  return new KubernetesDriver(conn, options);
}
