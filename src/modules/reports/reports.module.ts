import { Module } from '@nestjs/common';
import { StatementsModule } from '../statements/statements.module';
import { ReportsController } from './reports.controller';
import { ReportsService } from './reports.service';
import { RollupsService } from './rollups';

/**
 * Performance reports from hourly rollups. The rollups are written by the click buffer (same
 * statement as the clicks) and by the conversions service (same transaction), through the
 * plain functions in rollups.ts, so neither module depends on this one.
 */
@Module({
  imports: [StatementsModule],
  controllers: [ReportsController],
  providers: [ReportsService, RollupsService],
  exports: [RollupsService, ReportsService],
})
export class ReportsModule {}
