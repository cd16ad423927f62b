/** The one error taxonomy every driver speaks; the gateway maps each code once per transport. */
export enum DriverErrorCode {
  NotFound = 'NOT_FOUND',
  Conflict = 'CONFLICT',
  Invalid = 'INVALID',
  Unreachable = 'UNREACHABLE',
  Unauthorized = 'UNAUTHORIZED',
  Unsupported = 'UNSUPPORTED',
  Timeout = 'TIMEOUT',
  Internal = 'INTERNAL',
}

/** A field-level cause, e.g. from a Kubernetes 422 or a spec the orchestrator refused. */
export interface ErrorCause {
  path: string;
  message: string;
}

export class DriverError extends Error {
  constructor(
    readonly code: DriverErrorCode,
    message: string,
    readonly causes: ErrorCause[] = [],
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'DriverError';
  }

  static notFound(what: string, options?: { cause?: unknown }): DriverError {
    return new DriverError(DriverErrorCode.NotFound, `${what} not found`, [], options);
  }

  static unsupported(message: string): DriverError {
    return new DriverError(DriverErrorCode.Unsupported, message);
  }
}

export function isDriverError(e: unknown, code?: DriverErrorCode): e is DriverError {
  return e instanceof DriverError && (code === undefined || e.code === code);
}
