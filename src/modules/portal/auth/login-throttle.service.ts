import { Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { RedisService } from '../../../queue/redis.service';

const WINDOW_MS = 15 * 60 * 1000;
/** Failures allowed per window: few per account (guessing one password), more per address (offices share one). */
export const MAX_FAILURES_PER_EMAIL = 5;
export const MAX_FAILURES_PER_IP = 20;

/**
 * Failed sign-ins counted in Redis per email and per IP, in fixed 15-minute windows that expire
 * by themselves. Every attempt is counted as a failure BEFORE its password is hashed (an atomic
 * INCR, then the check), and given back when it succeeds: checking first and counting after the
 * hash would let any number of parallel guesses through.
 */
@Injectable()
export class LoginThrottleService {
  constructor(private readonly redis: RedisService) {}

  /** Counts the attempt; answers the minutes to wait when it is over a limit (the password is then not checked), else 0. */
  async attempt(email: string, ip: string): Promise<number> {
    const [emailKey, ipKey] = this.keys(email, ip);
    const replies = (await this.redis.client
      .multi()
      .incr(emailKey)
      .pexpire(emailKey, WINDOW_MS, 'NX')
      .incr(ipKey)
      .pexpire(ipKey, WINDOW_MS, 'NX')
      .pttl(emailKey)
      .pttl(ipKey)
      .exec()) as [Error | null, number][];
    const [byEmail, , byIp, , emailTtl, ipTtl] = replies.map(([error, value]) => {
      if (error) throw error;
      return value;
    });
    const wait = Math.max(byEmail > MAX_FAILURES_PER_EMAIL ? emailTtl : 0, byIp > MAX_FAILURES_PER_IP ? ipTtl : 0);
    return wait > 0 ? Math.ceil(wait / 60_000) : 0;
  }

  /** A success clears the account's count and gives the address its attempt back. */
  async succeeded(email: string, ip: string): Promise<void> {
    const [emailKey, ipKey] = this.keys(email, ip);
    // The expiry again, in case the window ended between the attempt and now: no counter lives forever.
    await this.redis.client.multi().del(emailKey).decr(ipKey).pexpire(ipKey, WINDOW_MS, 'NX').exec();
  }

  private keys(email: string, ip: string): [string, string] {
    const digest = createHash('sha256').update(email.trim().toLowerCase()).digest('base64url');
    return [this.redis.key('portal', 'login-failures', 'email', digest), this.redis.key('portal', 'login-failures', 'ip', ip)];
  }
}
