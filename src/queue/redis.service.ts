import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Config } from '../config/configuration';
import { createRedisClient, RedisClient } from './redis-client';

/** The app's own Redis connection (health, counters, locks, pub/sub); BullMQ keeps its own connections. */
@Injectable()
export class RedisService implements OnApplicationShutdown {
  private readonly logger = new Logger(RedisService.name);
  readonly client: RedisClient;
  /** Key prefix of everything this app writes, queues included (a hash tag: Redis Cluster safe). */
  readonly prefix: string;

  constructor(config: ConfigService<Config, true>) {
    const redis = config.get('redis', { infer: true });
    this.prefix = `{${redis.queuePrefix}}`;
    this.client = createRedisClient(redis, { maxRetriesPerRequest: 2, enableOfflineQueue: true, lazyConnect: false });
    this.client.on('error', (error) => this.logger.warn(`redis: ${error.message}`));
  }

  key(...parts: string[]): string {
    return [this.prefix, ...parts].join(':');
  }

  async onApplicationShutdown(): Promise<void> {
    await this.client.quit().catch(() => this.client.disconnect());
  }
}
