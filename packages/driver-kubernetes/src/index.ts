import { KubernetesDriver } from './kubernetes.driver.js';
import type { KubernetesConnection } from './kubernetes.client.js';
import type { DriverOptions } from '@berth/driver';

export { KubernetesDriver };
export type { KubernetesConnection };

/** The Kubernetes driver for one cluster, from its kubeconfig content and (optionally) a context. */
export function createKubernetesDriver(conn: KubernetesConnection, _options: DriverOptions = {}): KubernetesDriver {
  return new KubernetesDriver(conn);
}
