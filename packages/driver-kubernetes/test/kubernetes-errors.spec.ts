import { describe, expect, it } from '@jest/globals';
import { ApiException } from '@kubernetes/client-node';
import { DriverError, DriverErrorCode } from '@berth/driver';
import { toDriverError } from '../src/kubernetes-errors.js';

const status = (code: number, message: string, extra: Record<string, unknown> = {}) =>
  new ApiException(code, 'Unknown API Status Code!', JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code, message, ...extra }), {});

describe('Kubernetes errors → driver errors', () => {
  it('404 → NotFound naming what was looked for', () => {
    const e = toDriverError(status(404, 'deployments.apps "web" not found'), 'Deployment web in namespace shop');
    expect(e).toBeInstanceOf(DriverError);
    expect(e.code).toBe(DriverErrorCode.NotFound);
    expect(e.message).toContain('Deployment web in namespace shop');
  });

  it('409 → Conflict', () => {
    expect(toDriverError(status(409, 'the object has been modified'), 'x').code).toBe(DriverErrorCode.Conflict);
  });

  it('422 → Invalid, with the field causes of the Status body', () => {
    const body = status(422, 'Deployment.apps "web" is invalid', {
      reason: 'Invalid',
      details: {
        name: 'web',
        kind: 'Deployment',
        causes: [{ reason: 'FieldValueInvalid', message: 'Invalid value: "UPPER": must be lowercase', field: 'metadata.labels' }],
      },
    });
    const e = toDriverError(body, 'applying Deployment web');
    expect(e.code).toBe(DriverErrorCode.Invalid);
    expect(e.message).toContain('is invalid');
    expect(e.causes).toEqual([{ path: 'metadata.labels', message: 'Invalid value: "UPPER": must be lowercase' }]);
  });

  it('401 and 403 → Unauthorized, except a namespace being deleted (a Conflict with that delete)', () => {
    expect(toDriverError(new ApiException(401, 'Unauthorized', undefined, {}), 'x').code).toBe(DriverErrorCode.Unauthorized);
    expect(toDriverError(status(403, 'deployments.apps is forbidden: User "bob" cannot create'), 'x').code).toBe(DriverErrorCode.Unauthorized);
    const terminating = status(403, 'deployments.apps "web" is forbidden: unable to create new content in namespace shop because it is being terminated');
    expect(toDriverError(terminating, 'x').code).toBe(DriverErrorCode.Conflict);
  });

  it('a body that is not JSON still gives a readable message', () => {
    const e = toDriverError(new ApiException(500, 'boom', '  upstream exploded  ', {}), 'listing pods');
    expect(e.code).toBe(DriverErrorCode.Internal);
    expect(e.message).toBe('listing pods failed with HTTP 500: upstream exploded');
  });

  it('connection refused, DNS failures and connect timeouts → Unreachable', () => {
    const refused = new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6443'), { code: 'ECONNREFUSED' }) });
    expect(toDriverError(refused, 'reading the version').code).toBe(DriverErrorCode.Unreachable);
    const dns = new TypeError('fetch failed', { cause: Object.assign(new Error('getaddrinfo ENOTFOUND k8s.example'), { code: 'ENOTFOUND' }) });
    expect(toDriverError(dns, 'x').code).toBe(DriverErrorCode.Unreachable);
    const timeout = new TypeError('fetch failed', { cause: Object.assign(new Error('Connect Timeout Error'), { code: 'UND_ERR_CONNECT_TIMEOUT' }) });
    expect(toDriverError(timeout, 'x').code).toBe(DriverErrorCode.Unreachable);
    const tls = new TypeError('fetch failed', { cause: Object.assign(new Error('self-signed certificate'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' }) });
    const e = toDriverError(tls, 'x');
    expect(e.code).toBe(DriverErrorCode.Unreachable);
    expect(e.message).toContain('certificate');
  });

  it('keeps a DriverError as it is', () => {
    const original = DriverError.notFound('service "web"');
    expect(toDriverError(original, 'x')).toBe(original);
  });
});
