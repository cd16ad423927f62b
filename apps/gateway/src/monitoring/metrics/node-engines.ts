import type { ClusterConnection } from '@berth/driver';
import { BerthError } from '../../common/errors.js';

/**
 * Cluster label naming the other node engines of a multi-node swarm, comma-separated
 * (`tcp://10.0.0.12:2376,tcp://10.0.0.13:2376` or `unix:///path`). A node's engine only reports the
 * containers running on it, so the collector samples every listed engine besides the manager Berth
 * is connected to; tcp engines are reached with the cluster's own TLS material.
 */
export const NODE_ENGINES_LABEL = 'berth.io/node-engines';

/** The connections to sample besides the cluster's own; empty for Kubernetes and single-engine swarms. */
export function nodeEngineConnections(own: ClusterConnection, labels: Record<string, string>): ClusterConnection[] {
  const listed = labels[NODE_ENGINES_LABEL];
  if (own.kind !== 'swarm' || !listed) return [];
  return listed
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean)
    .map((endpoint): ClusterConnection => {
      if (endpoint.startsWith('unix://')) return { kind: 'swarm', socketPath: endpoint.slice('unix://'.length) };
      const m = /^tcp:\/\/([A-Za-z0-9.\-[\]:]+):(\d{1,5})$/.exec(endpoint);
      if (!m) throw BerthError.invalid(`label ${NODE_ENGINES_LABEL}: "${endpoint}" is not tcp://HOST:PORT or unix:///PATH`);
      return { kind: 'swarm', host: m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]), ...(own.tls ? { tls: own.tls } : {}) };
    });
}
