import { DriverError, DriverErrorCode, isDriverError } from '@berth/driver';

/** What docker-modem attaches to an HTTP error, and Node to a socket error. */
interface EngineFailure {
  statusCode?: number;
  json?: unknown;
  message?: string;
  code?: string;
  name?: string;
}

const SOCKET_UNREACHABLE = new Set(['ECONNREFUSED', 'ENOENT', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

/** The engine's own words: the JSON body's `message`, or docker-modem's text without its "(HTTP code N) reason - " prefix. */
export function engineMessage(err: EngineFailure): string {
  const body = err.json;
  if (body && typeof body === 'object' && typeof (body as { message?: unknown }).message === 'string') return (body as { message: string }).message.trim();
  if (typeof body === 'string' && body.trim()) return body.trim();
  return (err.message ?? String(err)).replace(/^\(HTTP code \d+\) [^-]*- /, '').trim();
}

/**
 * Swarm answers some refusals with HTTP 500 and a gRPC status in the text
 * ("rpc error: code = InvalidArgument desc = ..."): the code says more than the status.
 */
function grpcCode(message: string): DriverErrorCode | undefined {
  const code = /rpc error: code = (\w+)/.exec(message)?.[1];
  switch (code) {
    case 'InvalidArgument':
      return DriverErrorCode.Invalid;
    case 'NotFound':
      return DriverErrorCode.NotFound;
    case 'AlreadyExists':
    case 'FailedPrecondition':
    case 'Aborted':
      return DriverErrorCode.Conflict;
    case 'PermissionDenied':
    case 'Unauthenticated':
      return DriverErrorCode.Unauthorized;
    case 'Unavailable':
      return DriverErrorCode.Unreachable;
    case 'DeadlineExceeded':
      return DriverErrorCode.Timeout;
    default:
      return undefined;
  }
}

/**
 * Maps anything the engine or the socket throws to the one error taxonomy.
 * `what` names the object the call was about ("service \"shop_web\""), for messages a user can act on.
 */
export function toDriverError(err: unknown, what = 'Docker engine request'): DriverError {
  if (isDriverError(err)) return err;
  const e = (err ?? {}) as EngineFailure;
  const options = { cause: err };

  if (e.code && SOCKET_UNREACHABLE.has(e.code)) {
    return new DriverError(
      DriverErrorCode.Unreachable,
      `cannot reach the Docker engine (${e.code}): check that dockerd runs and that the cluster's socket path or host is right`,
      [],
      options,
    );
  }
  if (e.code === 'EACCES') {
    return new DriverError(DriverErrorCode.Unauthorized, 'permission denied on the Docker socket: run Berth as a user that may use it', [], options);
  }
  if (e.name === 'AbortError') {
    return new DriverError(DriverErrorCode.Timeout, `${what}: request aborted before the engine answered`, [], options);
  }

  const message = engineMessage(e);
  // The engine's optimistic-concurrency refusal arrives as a 500 on 20.10; it is a conflict all the same.
  if (/update out of sequence/i.test(message)) {
    return new DriverError(
      DriverErrorCode.Conflict,
      `${what} was changed by someone else meanwhile (update out of sequence): read it again and retry`,
      [],
      options,
    );
  }

  switch (e.statusCode) {
    case 400:
      return new DriverError(DriverErrorCode.Invalid, `the engine refused ${what}: ${message}`, [], options);
    case 401:
    case 403:
      return new DriverError(DriverErrorCode.Unauthorized, `the engine refused ${what}: ${message}`, [], options);
    case 404:
      return DriverError.notFound(what, options);
    case 409:
      return new DriverError(DriverErrorCode.Conflict, `${what}: ${message}`, [], options);
    case 503:
      return new DriverError(
        DriverErrorCode.Unreachable,
        `the Docker engine answers but cannot serve swarm requests (${message}): point Berth at a swarm manager, or run \`docker swarm init\``,
        [],
        options,
      );
    default: {
      const code = e.statusCode !== undefined ? (grpcCode(message) ?? DriverErrorCode.Internal) : DriverErrorCode.Internal;
      if (code === DriverErrorCode.NotFound) return DriverError.notFound(what, options);
      return new DriverError(code, `${what} failed: ${message}`, [], options);
    }
  }
}
