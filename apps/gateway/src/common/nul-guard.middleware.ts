import type { NextFunction, Request, Response } from 'express';
import { BerthError } from './errors.js';

const NUL = String.fromCharCode(0);

/**
 * Postgres text and JSONB cannot hold U+0000, so input carrying it could only fail deep inside a
 * query: refuse it at the edge, whatever route it is for.
 */
export function refuseNul(req: Request, _res: Response, next: NextFunction): void {
  const body = req.body as unknown;
  let found = false;
  try {
    found =
      decodeURIComponent(req.originalUrl).includes(NUL) ||
      (typeof body === 'string' ? body.includes(NUL) : body !== undefined && JSON.stringify(body).includes('\\u0000'));
  } catch {
    // a malformed %-escape is the router's 400, not ours
  }
  if (found) next(BerthError.invalid('the request contains a NUL character (U+0000), which Berth does not accept'));
  else next();
}
