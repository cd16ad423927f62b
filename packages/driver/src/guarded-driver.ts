import { AppSpec, JobSpec, ServiceSpec, parseOrThrow } from '@berth/spec';
import { DriverError, DriverErrorCode } from './errors.js';
import type { OrchestratorDriver } from './types.js';

export interface GuardOptions {
  /** A call that takes longer fails with a Timeout error (the orchestrator may still finish it). */
  timeoutMs: number;
  /** Told about every call when it ends, for logs and metrics. */
  onCall?: (call: { method: string; ms: number; error?: unknown }) => void;
}

/** Calls whose spec argument is re-validated here, so a spec that skipped the edge never reaches a cluster. */
const VALIDATE: Partial<Record<keyof OrchestratorDriver, (args: unknown[]) => void>> = {
  plan: ([spec]) => parseOrThrow(AppSpec, spec, 'app spec'),
  apply: ([spec]) => parseOrThrow(AppSpec, spec, 'app spec'),
  updateService: ([, spec]) => parseOrThrow(ServiceSpec, spec, 'service spec'),
  rollbackService: ([, spec]) => parseOrThrow(ServiceSpec, spec, 'service spec'),
  runJob: ([spec]) => parseOrThrow(JobSpec, spec, 'job spec'),
};

/** Streams run as long as their reader wants: no timeout for them. */
const STREAMS = new Set<string | symbol>(['events', 'logs', 'followRollout']);

/**
 * The cross-cutting rules for any driver, in one wrapper instead of copied into each: validation,
 * timeouts, and a report of every call.
 */
export function guardDriver(driver: OrchestratorDriver, options: GuardOptions): OrchestratorDriver {
  return new Proxy(driver, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function' || STREAMS.has(prop) || prop === 'close') {
        return typeof value === 'function' ? value.bind(target) : value;
      }
      const method = String(prop);
      return async (...args: unknown[]) => {
        VALIDATE[prop as keyof OrchestratorDriver]?.(args);
        const started = performance.now();
        let timer: NodeJS.Timeout | undefined;
        try {
          const result = await Promise.race([
            (value as (...a: unknown[]) => Promise<unknown>).apply(target, args),
            new Promise((_, reject) => {
              timer = setTimeout(
                () => reject(new DriverError(DriverErrorCode.Timeout, `${driver.kind} ${method} did not answer within ${options.timeoutMs} ms`)),
                options.timeoutMs,
              );
            }),
          ]);
          options.onCall?.({ method, ms: performance.now() - started });
          return result;
        } catch (error) {
          options.onCall?.({ method, ms: performance.now() - started, error });
          throw error;
        } finally {
          clearTimeout(timer);
        }
      };
    },
  });
}
