import { DriverError, DriverErrorCode } from '@berth/driver';
import { SpecValidationError, type SpecIssue } from '@berth/model';

/** Machine-readable error codes of the API, the same on REST and GraphQL. */
export enum ErrorCode {
  NotFound = 'NOT_FOUND',
  Conflict = 'CONFLICT',
  Invalid = 'INVALID',
  Unauthenticated = 'UNAUTHENTICATED',
  Forbidden = 'FORBIDDEN',
  PayloadTooLarge = 'PAYLOAD_TOO_LARGE',
  RateLimited = 'RATE_LIMITED',
  /** The cluster could not be reached. */
  ClusterUnreachable = 'CLUSTER_UNREACHABLE',
  /** The cluster refused Berth's credentials. */
  ClusterUnauthorized = 'CLUSTER_UNAUTHORIZED',
  /** The orchestrator cannot do what was asked. */
  Unsupported = 'UNSUPPORTED',
  Timeout = 'TIMEOUT',
  Internal = 'INTERNAL',
}

/** A domain error: thrown by services shared by REST and GraphQL, mapped once per transport. */
export class BerthError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: SpecIssue[] = [],
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'BerthError';
  }

  static notFound(what: string): BerthError {
    return new BerthError(ErrorCode.NotFound, `${what} not found`);
  }

  static invalid(message: string, details: SpecIssue[] = []): BerthError {
    return new BerthError(ErrorCode.Invalid, message, details);
  }

  static conflict(message: string, extra: Record<string, unknown> = {}): BerthError {
    return new BerthError(ErrorCode.Conflict, message, [], extra);
  }
}

const FROM_DRIVER: Record<DriverErrorCode, ErrorCode> = {
  [DriverErrorCode.NotFound]: ErrorCode.NotFound,
  [DriverErrorCode.Conflict]: ErrorCode.Conflict,
  [DriverErrorCode.Invalid]: ErrorCode.Invalid,
  [DriverErrorCode.Unreachable]: ErrorCode.ClusterUnreachable,
  [DriverErrorCode.Unauthorized]: ErrorCode.ClusterUnauthorized,
  [DriverErrorCode.Unsupported]: ErrorCode.Unsupported,
  [DriverErrorCode.Timeout]: ErrorCode.Timeout,
  [DriverErrorCode.Internal]: ErrorCode.Internal,
};

/** The domain form of any known error; undefined for errors nobody anticipated (a bug: 500). */
export function asBerthError(e: unknown): BerthError | undefined {
  if (e instanceof BerthError) return e;
  // errors thrown while a subscription streams arrive wrapped by graphql-js
  const original = (e as { originalError?: unknown } | null)?.originalError;
  if (original && original !== e) return asBerthError(original);
  if (e instanceof SpecValidationError) return new BerthError(ErrorCode.Invalid, e.message, e.issues);
  if (e instanceof DriverError) return new BerthError(FROM_DRIVER[e.code], e.message, e.causes);
  return undefined;
}

export const HTTP_STATUS: Record<ErrorCode, number> = {
  [ErrorCode.NotFound]: 404,
  [ErrorCode.Conflict]: 409,
  [ErrorCode.Invalid]: 400,
  [ErrorCode.Unauthenticated]: 401,
  [ErrorCode.Forbidden]: 403,
  [ErrorCode.PayloadTooLarge]: 413,
  [ErrorCode.RateLimited]: 429,
  [ErrorCode.ClusterUnreachable]: 503,
  [ErrorCode.ClusterUnauthorized]: 502,
  [ErrorCode.Unsupported]: 501,
  [ErrorCode.Timeout]: 504,
  [ErrorCode.Internal]: 500,
};

/** The error body of every REST response (and the `extensions` of every GraphQL error). */
export interface ErrorBody {
  code: ErrorCode;
  message: string;
  details?: SpecIssue[];
  correlationId?: string;
  [key: string]: unknown;
}
