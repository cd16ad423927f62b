import { describe, expect, it } from '@jest/globals';
import { DriverError, DriverErrorCode } from '@berth/driver';
import { toDriverError } from '../src/swarm-errors.js';

/** The error docker-modem builds for an HTTP error answer. */
function httpError(statusCode: number, message: string): Error {
  return Object.assign(new Error(`(HTTP code ${statusCode}) unexpected - ${message} `), { statusCode, json: { message } });
}

const socketError = (code: string) => Object.assign(new Error(`connect ${code} /var/run/docker.sock`), { code });

describe('toDriverError', () => {
  it('maps HTTP statuses to the taxonomy', () => {
    expect(toDriverError(httpError(404, 'service x not found'), 'service "web" of app "shop"')).toMatchObject({
      code: DriverErrorCode.NotFound,
      message: 'service "web" of app "shop" not found',
    });
    expect(toDriverError(httpError(409, 'name conflicts with an existing object')).code).toBe(DriverErrorCode.Conflict);
    expect(toDriverError(httpError(401, 'unauthorized')).code).toBe(DriverErrorCode.Unauthorized);
    expect(toDriverError(httpError(403, 'forbidden')).code).toBe(DriverErrorCode.Unauthorized);
  });

  it("keeps the engine's own words for a refused spec", () => {
    const err = toDriverError(httpError(400, 'invalid mount config: bind source path does not exist: /nope'), 'service "shop_web"');
    expect(err.code).toBe(DriverErrorCode.Invalid);
    expect(err.message).toBe('the engine refused service "shop_web": invalid mount config: bind source path does not exist: /nope');
  });

  it('treats "update out of sequence" (a 500 on Docker 20.10) as a conflict to re-read and retry', () => {
    const err = toDriverError(httpError(500, 'rpc error: code = Unknown desc = update out of sequence'), 'service "shop_web"');
    expect(err.code).toBe(DriverErrorCode.Conflict);
    expect(err.message).toContain('read it again and retry');
  });

  it('reads the gRPC code swarm puts in a 500', () => {
    expect(toDriverError(httpError(500, 'rpc error: code = InvalidArgument desc = port 80 is published twice')).code).toBe(DriverErrorCode.Invalid);
    expect(toDriverError(httpError(500, 'rpc error: code = NotFound desc = network x not found'), 'network "x"').code).toBe(DriverErrorCode.NotFound);
    expect(toDriverError(httpError(500, 'something broke')).code).toBe(DriverErrorCode.Internal);
  });

  it('says the cluster is unreachable when the socket fails, and why', () => {
    for (const code of ['ECONNREFUSED', 'ENOENT', 'ETIMEDOUT']) {
      const err = toDriverError(socketError(code));
      expect(err.code).toBe(DriverErrorCode.Unreachable);
      expect(err.message).toContain(code);
    }
    expect(toDriverError(socketError('EACCES')).code).toBe(DriverErrorCode.Unauthorized);
  });

  it('says a non-manager engine cannot serve swarm requests', () => {
    const err = toDriverError(httpError(503, 'This node is not a swarm manager.'));
    expect(err.code).toBe(DriverErrorCode.Unreachable);
    expect(err.message).toContain('swarm manager');
  });

  it('passes DriverErrors through and keeps the original as cause', () => {
    const own = new DriverError(DriverErrorCode.Invalid, 'x');
    expect(toDriverError(own)).toBe(own);
    const original = httpError(404, 'gone');
    expect(toDriverError(original).cause).toBe(original);
  });
});
