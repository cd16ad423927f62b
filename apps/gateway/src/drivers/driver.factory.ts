import type { ClusterConnection, OrchestratorDriver } from '@berth/driver';
import { createKubernetesDriver } from '@berth/driver-kubernetes';
import { createSwarmDriver } from '@berth/driver-swarm';

/** The one place a driver is chosen: an exhaustive switch on the connection's kind. */
export function createDriver(connection: ClusterConnection): OrchestratorDriver {
  switch (connection.kind) {
    case 'swarm':
      return createSwarmDriver(connection);
    case 'kubernetes':
      return createKubernetesDriver(connection);
    default: {
      const unknown: never = connection;
      throw new Error(`no driver for cluster kind ${(unknown as { kind: string }).kind}`);
    }
  }
}

export const DRIVER_FACTORY = Symbol('DRIVER_FACTORY');
export type DriverFactory = (connection: ClusterConnection) => OrchestratorDriver;
