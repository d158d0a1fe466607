import { BullModule } from '@nestjs/bullmq';
import { Global, Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Config } from '../config/configuration';
import { DEFAULT_JOB_OPTIONS, QUEUES } from './queues';
import { RedisService } from './redis.service';

const queueRegistrations = Object.values(QUEUES).map((name) => ({ name }));

@Global()
@Module({
  imports: [
    BullModule.forRootAsync({
      inject: [ConfigService],
      useFactory: (config: ConfigService<Config, true>) => {
        const { url, queuePrefix } = config.get('redis', { infer: true });
        const u = new URL(url);
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
          defaultJobOptions: DEFAULT_JOB_OPTIONS,
        };
      },
    }),
    BullModule.registerQueue(...queueRegistrations),
  ],
  providers: [RedisService],
  exports: [RedisService, BullModule],
})
export class QueueModule {}
