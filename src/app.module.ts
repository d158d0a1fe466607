import { DynamicModule, Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import { AllExceptionsFilter } from './common/errors';
import { ChangeEventsModule } from './common/events/change-events';
import { createValidationPipe } from './common/validation/validation.pipe';
import { allConfig } from './config/configuration';
import { DatabaseModule } from './database/database.module';
import { ENTITIES } from './entities';
import { PrincipalsModule } from './modules/principals/principals.module';
import { HealthModule } from './modules/health/health.module';
import { OffersModule } from './modules/offers/offers.module';
import { ConversionsModule } from './modules/conversions/conversions.module';
import { StripeModule } from './integrations/stripe/stripe.module';
import { BillingModule } from './modules/billing/billing.module';
import { CommissionsModule } from './modules/commissions/commissions.module';
import { ProgramsModule } from './modules/programs/programs.module';
import { StatementsModule } from './modules/statements/statements.module';
import { PortalModule } from './modules/portal/portal.module';
import { ReportsModule } from './modules/reports/reports.module';
import { OperationsModule } from './modules/operations/operations.module';
import { PayoutsModule } from './modules/payouts/payouts.module';
import { PartnerPostbacksModule } from './modules/partner-postbacks/partner-postbacks.module';
import { LedgerModule } from './modules/ledger/ledger.module';
import { TrackingModule } from './modules/tracking/tracking.module';
import { QualityModule } from './modules/quality/quality.module';
import { ThrottlingModule } from './modules/throttling/throttling.module';
import { WebhooksModule } from './modules/webhooks/webhooks.module';
import { StripeConversionsModule } from './modules/stripe-conversions/stripe-conversions.module';
import { OutboxModule } from './queue/outbox/outbox.module';
import { QueueModule } from './queue/queue.module';
import { WorkersModule } from './queue/workers.module';

export interface AppModuleOptions {
  /** Host the BullMQ processors in this process (RUN_WORKERS, and always in the worker entry). */
  workers: boolean;
}

@Module({})
export class AppModule {
  static forRoot(options: AppModuleOptions): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot({ isGlobal: true, ignoreEnvFile: true, load: allConfig, cache: true }),
        DatabaseModule.forRoot(ENTITIES),
        ChangeEventsModule,
        QueueModule,
        OutboxModule,
        HealthModule,
        PrincipalsModule,
        OffersModule,
        TrackingModule,
        ConversionsModule,
        QualityModule,
        LedgerModule,
        CommissionsModule,
        ProgramsModule,
        PartnerPostbacksModule,
        WebhooksModule,
        StripeModule,
        PayoutsModule,
        BillingModule,
        StripeConversionsModule,
        StatementsModule,
        ReportsModule,
        PortalModule,
        OperationsModule,
        ThrottlingModule,
        ...(options.workers ? [WorkersModule] : []),
      ],
      providers: [
        { provide: APP_PIPE, useFactory: createValidationPipe },
        { provide: APP_FILTER, useClass: AllExceptionsFilter },
      ],
    };
  }
}
