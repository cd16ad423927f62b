import { type ClusterConnection, type DriverOptions, type OrchestratorDriver, type OrchestratorKind, type StreamMethod, isStreamMethod } from '@berth/driver';

type Method = Exclude<keyof OrchestratorDriver, 'kind'>;
type CallMethod = { [K in Method]: ReturnType<OrchestratorDriver[K]> extends Promise<unknown> ? K : never }[Method];

/** Every method but the streams answers once, with a promise: a member of another shape needs a thought here first. */
const everyMethodHandled: [Exclude<Method, StreamMethod | CallMethod>] extends [never] ? true : never = true;
void everyMethodHandled;

type AnyMethod = (...args: unknown[]) => unknown;

/**
 * A driver whose module is imported when the first cluster of its kind is used, not when the gateway
 * starts: the Kubernetes driver and @kubernetes/client-node cost about 55 MB of memory, which a
 * gateway with only Swarm clusters (or none yet) never needs. The import starts as soon as the driver
 * is created; every call waits for it (a failed import is tried again by the next call).
 */
export function lazyDriver(kind: OrchestratorKind, load: () => Promise<OrchestratorDriver>): OrchestratorDriver {
  let loading: Promise<OrchestratorDriver> | undefined;
  const real = () =>
    (loading ??= load().catch((e: unknown) => {
      loading = undefined;
      throw e;
    }));
  real().catch(() => undefined);
  const close = async () => {
    const driver = await loading?.catch(() => undefined);
    await driver?.close();
  };
  return new Proxy({ kind } as OrchestratorDriver, {
    get(target, prop) {
      if (prop === 'kind') return kind;
      if (prop === 'close') return close;
      if (typeof prop !== 'string' || prop === 'then' || prop === 'toJSON' || prop in Object.prototype) return Reflect.get(target, prop) as unknown;
      if (isStreamMethod(prop)) {
        return (...args: unknown[]) =>
          (async function* () {
            const driver = await real();
            yield* (driver[prop] as AnyMethod).apply(driver, args) as AsyncIterable<unknown>;
          })();
      }
      return async (...args: unknown[]) => {
        const driver = await real();
        const method = driver[prop as CallMethod] as AnyMethod | undefined;
        if (typeof method !== 'function') throw new TypeError(`the ${kind} driver has no method ${prop}`);
        return method.apply(driver, args);
      };
    },
  });
}

/** The one place a driver is chosen: an exhaustive switch on the connection's kind. */
export function createDriver(connection: ClusterConnection, options: DriverOptions = {}): OrchestratorDriver {
  switch (connection.kind) {
    case 'swarm':
      return lazyDriver('swarm', async () => (await import('@berth/driver-swarm')).createSwarmDriver(connection, options));
    case 'kubernetes':
      return lazyDriver('kubernetes', async () => (await import('@berth/driver-kubernetes')).createKubernetesDriver(connection, options));
    default: {
      const unknown: never = connection;
      throw new Error(`no driver for cluster kind ${(unknown as { kind: string }).kind}`);
    }
  }
}

export const DRIVER_FACTORY = Symbol('DRIVER_FACTORY');
export type DriverFactory = (connection: ClusterConnection, options?: DriverOptions) => OrchestratorDriver;
