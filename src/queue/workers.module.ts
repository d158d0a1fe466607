import { Module } from '@nestjs/common';
import { CommissionsModule } from '../modules/commissions/commissions.module';
import { CommissionsProcessor, MaintenanceProcessor } from '../modules/commissions/commissions.processor';
import { PayoutsModule } from '../modules/payouts/payouts.module';
import { BillingModule } from '../modules/billing/billing.module';
import { BillingProcessor } from '../modules/billing/billing.processor';
import { PayoutsProcessor } from '../modules/payouts/payouts.processor';
import { PostbacksModule } from '../modules/postbacks/postbacks.module';
import { PostbacksProcessor } from '../modules/postbacks/postbacks.processor';
import { JobHandlers } from './job-handlers';

/**
 * The BullMQ processors. Imported by the worker entry point, and by the API process when
 * RUN_WORKERS is on. JobHandlers refuses to start if a job that can be produced has no handler.
 */
@Module({
  imports: [CommissionsModule, PostbacksModule, PayoutsModule, BillingModule],
  providers: [JobHandlers, CommissionsProcessor, MaintenanceProcessor, PostbacksProcessor, PayoutsProcessor, BillingProcessor],
})
export class WorkersModule {}
