import { ApiException } from '@kubernetes/client-node';
import { DriverError, DriverErrorCode, isDriverError, type ErrorCause } from '@berth/driver';

/** The part of a Kubernetes `Status` body that says what went wrong. */
interface StatusBody {
  message?: string;
  reason?: string;
  details?: { name?: string; kind?: string; causes?: Array<{ field?: string; message?: string; reason?: string }> };
}

/** Network-level failures: the API server could not be reached (or not trusted) at all. */
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
]);
const TLS_CODES = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|ERR_SSL/;

/** ApiException.body is the raw response text in client-node 2 (sometimes already parsed, or empty). */
export function parseStatus(body: unknown): StatusBody | undefined {
  if (body && typeof body === 'object') return body as StatusBody;
  if (typeof body !== 'string' || body.trim() === '') return undefined;
  try {
    const parsed: unknown = JSON.parse(body);
    return parsed && typeof parsed === 'object' ? (parsed as StatusBody) : undefined;
  } catch {
    return { message: body.trim().slice(0, 500) };
  }
}

/** The innermost `code` of an error chain (undici wraps the socket error as `cause` of "fetch failed"). */
function networkCode(e: unknown): string | undefined {
  for (let cur: unknown = e, depth = 0; cur && depth < 5; depth++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    cur = (cur as { cause?: unknown }).cause;
  }
  return undefined;
}

function causesOf(status: StatusBody | undefined): ErrorCause[] {
  return (status?.details?.causes ?? []).map((c) => ({ path: c.field ?? '', message: c.message ?? c.reason ?? 'invalid' }));
}

/**
 * Translates anything client-node throws into the driver taxonomy. `what` names the object or
 * action in the message ("Deployment web in namespace shop"), so the user knows what failed.
 */
export function toDriverError(e: unknown, what: string): DriverError {
  if (isDriverError(e)) return e;
  if (e instanceof ApiException) {
    const status = parseStatus(e.body);
    const detail = status?.message ? `: ${status.message}` : '';
    switch (e.code) {
      case 400:
        return new DriverError(DriverErrorCode.Invalid, `${what} was refused by the Kubernetes API${detail}`, causesOf(status), { cause: e });
      case 401:
        return new DriverError(
          DriverErrorCode.Unauthorized,
          `${what}: the Kubernetes API rejected the kubeconfig credentials${detail}; check the cluster's kubeconfig`,
          [],
          { cause: e },
        );
      case 403:
        // A namespace being deleted refuses new objects with 403; that is a conflict with a delete in progress, not missing rights.
        if (status?.message?.includes('being terminated')) {
          return new DriverError(DriverErrorCode.Conflict, `${what}: the namespace is still being deleted; retry when the removal has finished${detail}`, [], {
            cause: e,
          });
        }
        return new DriverError(DriverErrorCode.Unauthorized, `${what}: the kubeconfig's user lacks permission${detail}`, [], { cause: e });
      case 404:
        return DriverError.notFound(what, { cause: e });
      case 409:
        return new DriverError(
          DriverErrorCode.Conflict,
          `${what} conflicts with the cluster's current state${detail}; read it again and retry`,
          causesOf(status),
          { cause: e },
        );
      case 410:
        return new DriverError(DriverErrorCode.Conflict, `${what}: the requested version is gone (expired)${detail}`, [], { cause: e });
      case 422:
        return new DriverError(DriverErrorCode.Invalid, `${what} is invalid${detail}`, causesOf(status), { cause: e });
      case 429:
      case 503:
        return new DriverError(DriverErrorCode.Unreachable, `${what}: the Kubernetes API is overloaded or unavailable (HTTP ${e.code})${detail}`, [], {
          cause: e,
        });
      case 504:
        return new DriverError(DriverErrorCode.Timeout, `${what}: the Kubernetes API timed out${detail}`, [], { cause: e });
      default:
        return new DriverError(DriverErrorCode.Internal, `${what} failed with HTTP ${e.code}${detail}`, causesOf(status), { cause: e });
    }
  }
  const code = networkCode(e);
  const name = (e as { name?: unknown } | undefined)?.name;
  if (code && TLS_CODES.test(code)) {
    return new DriverError(
      DriverErrorCode.Unreachable,
      `${what}: the API server's TLS certificate was not accepted (${code}); check the kubeconfig's certificate-authority-data`,
      [],
      { cause: e },
    );
  }
  if ((code && UNREACHABLE_CODES.has(code)) || (e instanceof TypeError && e.message === 'fetch failed')) {
    return new DriverError(
      DriverErrorCode.Unreachable,
      `${what}: cannot reach the Kubernetes API server (${code ?? 'network error'}); check the cluster address and that it is up`,
      [],
      { cause: e },
    );
  }
  if (name === 'TimeoutError' || name === 'AbortError') {
    return new DriverError(DriverErrorCode.Unreachable, `${what}: the Kubernetes API server did not answer in time`, [], { cause: e });
  }
  const message = e instanceof Error ? e.message : String(e);
  return new DriverError(DriverErrorCode.Internal, `${what} failed: ${message}`, [], { cause: e });
}

/** True for a Kubernetes 404, before or after translation. */
export function isNotFound(e: unknown): boolean {
  return (e instanceof ApiException && e.code === 404) || isDriverError(e, DriverErrorCode.NotFound);
}
