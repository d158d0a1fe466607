import { BullModule } from '@nestjs/bullmq';
import { Global, Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Config } from '../config/configuration';
import { DEFAULT_JOB_OPTIONS, QUEUES } from './queues';
import { createRedisClient, queuePrefix } from './redis-client';
import { RedisService } from './redis.service';
import { RetentionService } from './retention';
import { QueueMetrics } from './queue-metrics';

/**
 * Each queue with its prefix (a hash tag per queue on a Redis Cluster) and, on a cluster, a
 * cluster client of its own (BullMQ takes no connection options for a cluster, only a client;
 * the queue disconnects it when it closes, and its workers duplicate it).
 */
const queueRegistrations = Object.values(QUEUES).map((name) => ({
  name,
  inject: [ConfigService],
  useFactory: (config: ConfigService<Config, true>) => {
    const redis = config.get('redis', { infer: true });
    const prefix = queuePrefix(redis, name);
    if (!redis.clusterNodes.length) return { prefix };
    return { prefix, connection: createRedisClient(redis, { maxRetriesPerRequest: null }), forceDisconnectOnShutdown: true };
  },
}));

@Global()
@Module({
  imports: [
    BullModule.forRootAsync({
      inject: [ConfigService],
      useFactory: (config: ConfigService<Config, true>) => {
        const { url } = config.get('redis', { infer: true });
        const u = new URL(url);
        const { failedJobDays } = config.get('retention', { infer: true });
        return {
          connection: {
            host: u.hostname,
            port: Number(u.port || 6379),
            username: u.username || undefined,
            password: u.password ? decodeURIComponent(u.password) : undefined,
            db: u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0,
            tls: u.protocol === 'rediss:' ? {} : undefined,
            maxRetriesPerRequest: null,
          },
          defaultJobOptions: failedJobDays ? { ...DEFAULT_JOB_OPTIONS, removeOnFail: { age: failedJobDays * 24 * 3600 } } : { ...DEFAULT_JOB_OPTIONS, removeOnFail: false },
        };
      },
    }),
    BullModule.registerQueueAsync(...queueRegistrations),
  ],
  providers: [RedisService, RetentionService, QueueMetrics],
  exports: [RedisService, RetentionService, QueueMetrics, BullModule],
})
export class QueueModule {}
