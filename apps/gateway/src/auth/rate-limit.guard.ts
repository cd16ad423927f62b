import { type CanActivate, Inject, Injectable } from '@nestjs/common';
import { CONFIG, type Config } from '../config/config.js';
import { BerthError, ErrorCode } from '../common/errors.js';
import { requestContext } from '../common/request-context.js';

/**
 * Requests per token per minute, as a token bucket refilled continuously. (@nestjs/throttler is
 * CommonJS requiring the ESM-only Nest 12, which jest's ESM mode cannot load, hence these lines.)
 */
@Injectable()
export class RateLimitGuard implements CanActivate {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly perMs: number;
  private readonly burst: number;

  constructor(@Inject(CONFIG) config: Config) {
    this.burst = config.auth.rateLimitPerMinute;
    this.perMs = config.auth.rateLimitPerMinute / 60_000;
  }

  canActivate(): boolean {
    const key = requestContext.principal()?.tokenId;
    if (!key) return true; // public routes, and websocket subscriptions (limited at connection)
    const now = Date.now();
    const bucket = this.buckets.get(key) ?? { tokens: this.burst, at: now };
    bucket.tokens = Math.min(this.burst, bucket.tokens + (now - bucket.at) * this.perMs);
    bucket.at = now;
    if (bucket.tokens < 1) {
      this.buckets.set(key, bucket);
      throw new BerthError(
        ErrorCode.RateLimited,
        `rate limit of ${this.burst} requests per minute reached for this token; retry in ${Math.ceil((1 - bucket.tokens) / this.perMs / 1000)} s`,
      );
    }
    bucket.tokens -= 1;
    this.buckets.set(key, bucket);
    return true;
  }
}
