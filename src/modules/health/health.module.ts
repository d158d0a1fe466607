import { Global, Module } from '@nestjs/common';
import { GracefulShutdown } from './graceful-shutdown';
import { HealthController } from './health.controller';
import { MetricsService } from '../../common/metrics/metrics.service';

@Global()
@Module({
  controllers: [HealthController],
  providers: [MetricsService, GracefulShutdown],
  exports: [MetricsService, GracefulShutdown],
})
export class HealthModule {}
