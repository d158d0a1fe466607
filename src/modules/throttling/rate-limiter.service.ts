import { Inject, Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { getStorageToken } from '@nestjs/throttler';
import type { FastifyReply } from 'fastify';
import { RateLimitedError } from '../../common/errors';
import { Config } from '../../config/configuration';
import { LeasedLimit } from './leased-limit';
import { RedisThrottlerStorage } from './redis-throttler.storage';

export type RateLimitScope = 'postbacks' | 'forms' | 'signups' | 'keyFailures' | 'pixelPerClick' | 'pixelPerIp';

const WHAT: Record<RateLimitScope, string> = {
  postbacks: 'postbacks',
  forms: 'attempts from your address',
  signups: 'sign-ups from your address',
  keyFailures: 'unknown API keys from your address',
  pixelPerClick: 'pixels for this click',
  pixelPerIp: 'pixels from your address',
};

/** Scopes counted through leases spent in memory (LeasedLimit): hot paths with a subject that earns its limit. */
const LEASED: readonly RateLimitScope[] = ['postbacks'];

/**
 * Limits a guard cannot apply because the subject is known only inside the handler (the
 * advertiser of a postback, the client of a form). A hit is counted BEFORE the work it guards
 * (an atomic INCR, then the check), so parallel requests cannot all slip under the limit;
 * `release` gives a hit back when the attempt turned out legitimate (a known API key). Postbacks
 * are counted in the same Redis window through leases spent in memory (LeasedLimit: no round
 * trip per postback, never above the limit).
 */
@Injectable()
export class RateLimiter {
  private readonly limits: Record<RateLimitScope, number>;
  private readonly windowMs: number;
  private readonly leased = new Map<RateLimitScope, LeasedLimit>();

  constructor(
    @Inject(getStorageToken()) private readonly storage: RedisThrottlerStorage,
    config: ConfigService<Config, true>,
  ) {
    const rateLimit = config.get('rateLimit', { infer: true });
    this.windowMs = rateLimit.windowMs;
    this.limits = {
      postbacks: rateLimit.postbacks,
      forms: rateLimit.forms,
      signups: rateLimit.signups,
      keyFailures: rateLimit.keyFailures,
      pixelPerClick: rateLimit.pixelPerClick,
      pixelPerIp: rateLimit.pixelPerIp,
    };
    for (const scope of LEASED) {
      const limit = this.limits[scope];
      if (limit > 0) this.leased.set(scope, new LeasedLimit(limit, this.windowMs, (subject, want) => this.storage.lease(`${scope}:${subject}`, this.windowMs, limit, want)));
    }
  }

  /** Counts one hit for `subject`; past the limit, a 429 with Retry-After. */
  async consume(scope: RateLimitScope, subject: string, reply?: FastifyReply): Promise<void> {
    const limit = this.limits[scope];
    const { isBlocked, timeToBlockExpire } = await this.hit(scope, subject);
    if (!isBlocked) return;
    if (reply) void reply.header('retry-after', String(timeToBlockExpire));
    throw new RateLimitedError(`More than ${limit} ${WHAT[scope]} in ${this.windowMs / 1000} s; retry after ${timeToBlockExpire} s`, timeToBlockExpire);
  }

  async release(scope: RateLimitScope, subject: string): Promise<void> {
    if (this.limits[scope] === 0) return;
    await this.storage.release(`${scope}:${subject}`);
  }

  /** Counts one hit for `subject`; false past the limit (for callers that answer the same either way, like the pixel). */
  async allow(scope: RateLimitScope, subject: string): Promise<boolean> {
    return !(await this.hit(scope, subject)).isBlocked;
  }

  private async hit(scope: RateLimitScope, subject: string): Promise<{ isBlocked: boolean; timeToBlockExpire: number }> {
    const limit = this.limits[scope];
    if (limit === 0) return { isBlocked: false, timeToBlockExpire: 0 };
    const leased = this.leased.get(scope);
    if (leased) {
      const taken = await leased.take(subject);
      return taken.allowed ? { isBlocked: false, timeToBlockExpire: 0 } : { isBlocked: true, timeToBlockExpire: taken.retryAfterS };
    }
    return this.storage.increment(`${scope}:${subject}`, this.windowMs, limit);
  }
}
