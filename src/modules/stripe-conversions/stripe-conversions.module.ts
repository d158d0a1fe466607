import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ConversionsModule } from '../conversions/conversions.module';
import { LedgerModule } from '../ledger/ledger.module';
import { OffersModule } from '../offers/offers.module';
import { STRIPE_INTEGRATION_ENTITIES } from './stripe-integration.entities';
import { AdvertiserStripeWebhookController, StripeIntegrationController } from './stripe-conversions.controller';
import { StripeConversionsService } from './stripe-conversions.service';

@Module({
  imports: [TypeOrmModule.forFeature(STRIPE_INTEGRATION_ENTITIES), ConversionsModule, LedgerModule, OffersModule],
  controllers: [StripeIntegrationController, AdvertiserStripeWebhookController],
  providers: [StripeConversionsService],
  exports: [StripeConversionsService],
})
export class StripeConversionsModule {}
