import { Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { StripeClient } from './stripe.client';
import { StripeEventRecord } from './stripe-event.entity';
import { StripeEventRetention } from './stripe-event-retention';
import { StripeMetrics } from './stripe-metrics';
import { StripeEventsService } from './stripe-events.service';
import { StripeWebhookController } from './stripe-webhook.controller';

@Global()
@Module({
  imports: [TypeOrmModule.forFeature([StripeEventRecord])],
  controllers: [StripeWebhookController],
  providers: [StripeClient, StripeEventsService, StripeEventRetention, StripeMetrics],
  exports: [StripeClient, StripeEventsService],
})
export class StripeModule {}
