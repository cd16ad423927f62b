import type { Request } from 'express';
import { BerthError } from './errors.js';
import { requestContext } from './request-context.js';
import type { Caller } from '../apps/apps.service.js';

const KEY = /^[A-Za-z0-9._:-]{1,128}$/;

/** Who is calling, the Idempotency-Key header, and `?wait=true`. */
export function callerOf(req: Request): Caller {
  const key = req.headers['idempotency-key'];
  if (key !== undefined && (typeof key !== 'string' || !KEY.test(key))) {
    throw BerthError.invalid('Idempotency-Key must be 1-128 characters of letters, digits and ._:-');
  }
  const wait = req.query.wait;
  return { requester: requestContext.requester(), idempotencyKey: key as string | undefined, wait: wait === 'true' || wait === '1' };
}

/** Cursor pagination parameters, validated. */
export function pageOf(query: Record<string, unknown>, maxLimit = 200): { cursor?: string; limit: number } {
  const limit = query.limit === undefined ? 50 : Number(query.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > maxLimit) throw BerthError.invalid(`limit: expected an integer 1-${maxLimit}`);
  const cursor = query.cursor;
  if (cursor !== undefined && typeof cursor !== 'string') throw BerthError.invalid('cursor: expected a string');
  return { cursor: cursor as string | undefined, limit };
}
