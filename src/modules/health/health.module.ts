import { Global, Module } from '@nestjs/common';
import { DatabaseMetrics } from './database-metrics';
import { GracefulShutdown } from './graceful-shutdown';
import { HealthController } from './health.controller';
import { OpsServer } from './ops-server';
import { MetricsService } from '../../common/metrics/metrics.service';

@Global()
@Module({
  controllers: [HealthController],
  providers: [MetricsService, GracefulShutdown, DatabaseMetrics, OpsServer],
  exports: [MetricsService, GracefulShutdown, OpsServer],
})
export class HealthModule {}
