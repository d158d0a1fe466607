import { Global, Module } from '@nestjs/common';
import { INTAKE_RISK_SCORER } from '../conversions/conversion-risk';
import { ConversionsModule } from '../conversions/conversions.module';
import { TrackingModule } from '../tracking/tracking.module';
import { AppealsService } from './appeals.service';
import { QualityReportService } from './quality-report';
import { AppealsController, QualityController } from './quality.controller';
import { QualityJobs } from './quality.jobs';
import { QualityService } from './quality.service';

/**
 * Traffic quality (README): risk scores and their reasons, appeals, the quality report. Global so
 * that the conversions service finds the intake scorer it declares (INTAKE_RISK_SCORER) without
 * importing this module, which depends on it.
 */
@Global()
@Module({
  imports: [ConversionsModule, TrackingModule],
  controllers: [AppealsController, QualityController],
  providers: [QualityService, AppealsService, QualityReportService, QualityJobs, { provide: INTAKE_RISK_SCORER, useExisting: QualityService }],
  exports: [QualityService, AppealsService, QualityReportService, INTAKE_RISK_SCORER],
})
export class QualityModule {}
