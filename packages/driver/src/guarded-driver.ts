import { AppSpec, JobSpec, ServiceSpec, parseOrThrow, unresolvedSecrets, unversionedMounts } from '@berth/model';
import { DriverError, DriverErrorCode } from './errors.js';
import { type OrchestratorDriver, isStreamMethod } from './types.js';

export interface GuardOptions {
  /** A call that takes longer fails with a Timeout error (the orchestrator may still finish it). */
  timeoutMs: number;
  /** The bound for whole-app writes (apply, remove), which grow with the app (default: timeoutMs). */
  slowTimeoutMs?: number;
  /** Told about every call when it ends, for logs and metrics. */
  onCall?: (call: { method: string; ms: number; error?: unknown }) => void;
}

/**
 * Calls whose spec argument is re-validated here, so a spec that skipped the edge never reaches a
 * cluster; the driver gets the parsed spec (defaults filled in, also for a revision stored before a
 * field existed).
 */
const VALIDATE: Partial<Record<keyof OrchestratorDriver, (args: unknown[]) => unknown[]>> = {
  plan: ([spec, ...rest]) => [appSpec(spec), ...rest],
  apply: ([spec, ...rest]) => [appSpec(spec), ...rest],
  updateService: ([ref, spec, ...rest]) => [ref, serviceSpec(spec), ...rest],
  rollbackService: ([ref, spec, ...rest]) => [ref, serviceSpec(spec), ...rest],
  runJob: ([spec, ...rest]) => [parseOrThrow(JobSpec, spec, 'job spec'), ...rest],
  ensureSecrets: (args) => {
    const [app, secrets] = args;
    const ok =
      typeof app === 'string' &&
      Array.isArray(secrets) &&
      secrets.every(
        (s: { name?: unknown; version?: unknown; value?: unknown }) =>
          typeof s.name === 'string' && typeof s.version === 'string' && typeof s.value === 'string',
      );
    if (!ok) throw new DriverError(DriverErrorCode.Invalid, 'ensureSecrets expects an app name and a list of { name, version, value }');
    return args;
  },
};

function appSpec(raw: unknown): AppSpec {
  const spec = parseOrThrow(AppSpec, raw, 'app spec');
  secretsResolved(unresolvedSecrets(spec));
  return spec;
}

function serviceSpec(raw: unknown): ServiceSpec {
  const spec = parseOrThrow(ServiceSpec, raw, 'service spec');
  secretsResolved(unversionedMounts(spec, 'service'));
  return spec;
}

/** Secret values reach a driver only through ensureSecrets; specs carry versions. */
function secretsResolved(problems: string[]): void {
  if (problems.length)
    throw new DriverError(DriverErrorCode.Invalid, `secrets must be stored through Berth before they reach a cluster: ${problems.join('; ')}`);
}

/** Calls that write or delete a whole app: one native write per object. */
const SLOW = new Set<string | symbol>(['apply', 'remove']);

/**
 * The cross-cutting rules for any driver, in one wrapper instead of copied into each: validation,
 * timeouts, and a report of every call.
 */
export function guardDriver(driver: OrchestratorDriver, options: GuardOptions): OrchestratorDriver {
  return new Proxy(driver, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      // streams run as long as their reader wants: no timeout for them
      if (typeof value !== 'function' || isStreamMethod(prop) || prop === 'close') {
        return typeof value === 'function' ? value.bind(target) : value;
      }
      const method = String(prop);
      const timeoutMs = SLOW.has(prop) ? (options.slowTimeoutMs ?? options.timeoutMs) : options.timeoutMs;
      return async (...args: unknown[]) => {
        const validate = VALIDATE[prop as keyof OrchestratorDriver];
        if (validate) args = validate(args);
        const started = performance.now();
        let timer: NodeJS.Timeout | undefined;
        try {
          const result = await Promise.race([
            (value as (...a: unknown[]) => Promise<unknown>).apply(target, args),
            new Promise((_, reject) => {
              timer = setTimeout(
                () => reject(new DriverError(DriverErrorCode.Timeout, `${driver.kind} ${method} did not answer within ${timeoutMs} ms`)),
                timeoutMs,
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
