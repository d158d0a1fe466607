import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { ThrottlerStorage } from '@nestjs/throttler';
import type { ThrottlerStorageRecord } from '@nestjs/throttler/dist/throttler-storage-record.interface';
import type { Counter } from 'prom-client';
import { Config } from '../../config/configuration';
import { MetricsService } from '../../common/metrics/metrics.service';
import { createRedisClient, RedisClient } from '../../queue/redis-client';
import type { Lease } from './leased-limit';

/** INCR a window counter, starting its expiry on the first hit; answers the count and the ms left. */
const HIT = 'afxRateLimitHit';
const HIT_LUA = `local n = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {n, ttl}`;
/** Gives one hit back, if the window still exists (never creates a key, never goes below zero). */
const RELEASE = 'afxRateLimitRelease';
const RELEASE_LUA = `local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n > 0 then return redis.call('DECR', KEYS[1]) end
return 0`;
/**
 * Grants up to ARGV[3] hits of the window out of what it has left under the limit ARGV[2] (a
 * lease: LeasedLimit spends them locally), starting its expiry on the first; answers the hits
 * granted and the ms left.
 */
const LEASE = 'afxRateLimitLease';
const LEASE_LUA = `local used = tonumber(redis.call('GET', KEYS[1]) or '0')
local grant = math.min(tonumber(ARGV[3]), tonumber(ARGV[2]) - used)
if grant > 0 then redis.call('INCRBY', KEYS[1], grant) else grant = 0 end
local ttl = redis.call('PTTL', KEYS[1])
if ttl == -1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
if ttl < 0 then ttl = tonumber(ARGV[1]) end
return {grant, ttl}`;
type Hit = Record<typeof HIT, (key: string, ttlMs: number) => Promise<[number, number]>> &
  Record<typeof RELEASE, (key: string) => Promise<number>> &
  Record<typeof LEASE, (key: string, ttlMs: number, limit: number, want: number) => Promise<[number, number]>>;
const REDIS_TIMEOUT_MS = 250;
const OPEN: ThrottlerStorageRecord = { totalHits: 0, timeToExpire: 0, isBlocked: false, timeToBlockExpire: 0 };

/**
 * Fixed-window counters in Redis, so every API process counts against the same limit. It fails
 * open: when Redis does not answer within 250 ms the request goes through (and is counted in
 * afx_rate_limit_unavailable_total), because a Redis outage must not turn into an API outage.
 */
@Injectable()
export class RedisThrottlerStorage implements ThrottlerStorage, OnApplicationShutdown {
  private readonly logger = new Logger(RedisThrottlerStorage.name);
  private readonly client: RedisClient;
  private readonly prefix: string;
  private readonly unavailable: Counter<string>;
  private lastWarning = 0;

  constructor(config: ConfigService<Config, true>, metrics: MetricsService) {
    const redis = config.get('redis', { infer: true });
    this.prefix = `{${redis.queuePrefix}}:ratelimit`;
    // No offline queue: while Redis is away a hit fails at once instead of waiting in line.
    this.client = createRedisClient(redis, { enableOfflineQueue: false, maxRetriesPerRequest: 0, commandTimeout: REDIS_TIMEOUT_MS });
    this.client.on('error', () => undefined);
    this.client.defineCommand(HIT, { numberOfKeys: 1, lua: HIT_LUA });
    this.client.defineCommand(RELEASE, { numberOfKeys: 1, lua: RELEASE_LUA });
    this.client.defineCommand(LEASE, { numberOfKeys: 1, lua: LEASE_LUA });
    this.unavailable = metrics.counter('afx_rate_limit_unavailable_total', 'Requests let through unlimited because Redis did not answer');
  }

  async increment(key: string, ttl: number, limit: number): Promise<ThrottlerStorageRecord> {
    try {
      const [hits, msLeft] = await (this.client as unknown as Hit)[HIT](`${this.prefix}:${key}`, ttl);
      const secondsLeft = Math.max(1, Math.ceil(msLeft / 1000));
      return { totalHits: hits, timeToExpire: secondsLeft, isBlocked: hits > limit, timeToBlockExpire: hits > limit ? secondsLeft : 0 };
    } catch (error) {
      this.failedOpen(error as Error);
      return OPEN;
    }
  }

  /** Leases up to `want` hits of `key`'s window (see LeasedLimit); null when Redis does not answer (fail open). */
  async lease(key: string, ttl: number, limit: number, want: number): Promise<Lease | null> {
    try {
      const [granted, msLeft] = await (this.client as unknown as Hit)[LEASE](`${this.prefix}:${key}`, ttl, limit, want);
      return { granted, msLeft };
    } catch (error) {
      this.failedOpen(error as Error);
      return null;
    }
  }

  private failedOpen(error: Error): void {
    this.unavailable.inc();
    if (Date.now() - this.lastWarning > 5000) {
      this.lastWarning = Date.now();
      this.logger.warn(`rate limits not enforced, Redis unavailable: ${error.message}`);
    }
  }

  /** Takes back a hit counted in advance (an attempt that turned out legitimate). */
  async release(key: string): Promise<void> {
    await (this.client as unknown as Hit)[RELEASE](`${this.prefix}:${key}`).catch(() => undefined);
  }

  onApplicationShutdown(): void {
    this.client.disconnect();
  }
}
