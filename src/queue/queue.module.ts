import { BullModule } from '@nestjs/bullmq';
import { Global, Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Config } from '../config/configuration';
import { DEFAULT_JOB_OPTIONS, QUEUES } from './queues';
import { RedisService } from './redis.service';
import { RetentionService } from './retention';
import { QueueMetrics } from './queue-metrics';

const queueRegistrations = Object.values(QUEUES).map((name) => ({ name }));

@Global()
@Module({
  imports: [
    BullModule.forRootAsync({
      inject: [ConfigService],
      useFactory: (config: ConfigService<Config, true>) => {
        const { url, queuePrefix } = config.get('redis', { infer: true });
        const u = new URL(url);
        const { failedJobDays } = config.get('retention', { infer: true });
        return {
          prefix: `{${queuePrefix}}`,
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
    BullModule.registerQueue(...queueRegistrations),
  ],
  providers: [RedisService, RetentionService, QueueMetrics],
  exports: [RedisService, RetentionService, QueueMetrics, BullModule],
})
export class QueueModule {}
