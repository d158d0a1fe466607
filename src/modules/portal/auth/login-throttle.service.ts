import { Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { RedisService } from '../../../queue/redis.service';

const WINDOW_MS = 15 * 60 * 1000;
/** Failures allowed per window: few per account (guessing one password), more per address (offices share one). */
export const MAX_FAILURES_PER_EMAIL = 5;
export const MAX_FAILURES_PER_IP = 20;

/** Failed sign-ins counted in Redis per email and per IP, in fixed 15-minute windows that expire by themselves. */
@Injectable()
export class LoginThrottleService {
  constructor(private readonly redis: RedisService) {}

  /** Minutes until the sign-in may be tried again, or 0 when it may be tried now. */
  async blockedFor(email: string, ip: string): Promise<number> {
    const [emailKey, ipKey] = this.keys(email, ip);
    const [[, byEmail], [, byIp], [, emailTtl], [, ipTtl]] = (await this.redis.client
      .multi()
      .get(emailKey)
      .get(ipKey)
      .pttl(emailKey)
      .pttl(ipKey)
      .exec()) as [Error | null, string | number | null][];
    const waits = [
      Number(byEmail ?? 0) >= MAX_FAILURES_PER_EMAIL ? Number(emailTtl) : 0,
      Number(byIp ?? 0) >= MAX_FAILURES_PER_IP ? Number(ipTtl) : 0,
    ];
    const wait = Math.max(...waits);
    return wait > 0 ? Math.ceil(wait / 60_000) : 0;
  }

  async failed(email: string, ip: string): Promise<void> {
    const multi = this.redis.client.multi();
    for (const key of this.keys(email, ip)) multi.incr(key).pexpire(key, WINDOW_MS, 'NX');
    await multi.exec();
  }

  /** A success clears the account's count; the address keeps its own. */
  async succeeded(email: string): Promise<void> {
    await this.redis.client.del(this.keys(email, '')[0]);
  }

  private keys(email: string, ip: string): [string, string] {
    const digest = createHash('sha256').update(email.trim().toLowerCase()).digest('base64url');
    return [this.redis.key('portal', 'login-failures', 'email', digest), this.redis.key('portal', 'login-failures', 'ip', ip)];
  }
}
