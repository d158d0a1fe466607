import { HttpStatus, Inject, Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { getStorageToken, ThrottlerStorage } from '@nestjs/throttler';
import type { FastifyReply } from 'fastify';
import { AppError } from '../../common/errors';
import { Config } from '../../config/configuration';

export type RateLimitScope = 'postbacks' | 'pixelPerClick' | 'pixelPerIp';

/** Limits a route cannot apply in a guard because the subject is known only inside the handler. */
@Injectable()
export class RateLimiter {
  private readonly limits: Record<RateLimitScope, number>;
  private readonly windowMs: number;

  constructor(
    @Inject(getStorageToken()) private readonly storage: ThrottlerStorage,
    config: ConfigService<Config, true>,
  ) {
    const rateLimit = config.get('rateLimit', { infer: true });
    this.windowMs = rateLimit.windowMs;
    this.limits = { postbacks: rateLimit.postbacks, pixelPerClick: rateLimit.pixelPerClick, pixelPerIp: rateLimit.pixelPerIp };
  }

  /** Counts one hit for `subject`; past the limit, a 429 with Retry-After. */
  async consume(scope: RateLimitScope, subject: string, reply: FastifyReply): Promise<void> {
    const limit = this.limits[scope];
    const { isBlocked, timeToBlockExpire } = await this.hit(scope, subject);
    if (!isBlocked) return;
    void reply.header('retry-after', String(timeToBlockExpire));
    throw new AppError('rate_limited', HttpStatus.TOO_MANY_REQUESTS, `More than ${limit} ${scope} in ${this.windowMs / 1000} s; retry after ${timeToBlockExpire} s`);
  }

  /** Counts one hit for `subject`; false past the limit (for callers that answer the same either way, like the pixel). */
  async allow(scope: RateLimitScope, subject: string): Promise<boolean> {
    return !(await this.hit(scope, subject)).isBlocked;
  }

  private async hit(scope: RateLimitScope, subject: string): Promise<{ isBlocked: boolean; timeToBlockExpire: number }> {
    const limit = this.limits[scope];
    if (limit === 0) return { isBlocked: false, timeToBlockExpire: 0 };
    return this.storage.increment(`${scope}:${subject}`, this.windowMs, limit, this.windowMs, scope);
  }
}
