import { DynamicModule, Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { databaseConfig, stripeConfig } from '../../config/configuration';
import { EntityList } from '../../database/data-source-options';
import { DatabaseModule } from '../../database/database.module';
import { StripeClient } from '../../integrations/stripe/stripe.client';
import { PAYOUT_RAIL_PROVIDERS } from '../payouts/rails/payout-rails';
import { ReconciliationService } from './reconciliation.service';

/** What `npm run reconcile` needs and nothing more: the database, the Stripe client and the payout rails (no queues, no HTTP). */
@Module({})
export class ReconciliationModule {
  /** `entities`: the application's list (src/entities.ts). */
  static forRoot(entities: EntityList): DynamicModule {
    return {
      module: ReconciliationModule,
      imports: [ConfigModule.forRoot({ isGlobal: true, ignoreEnvFile: true, load: [databaseConfig, stripeConfig], cache: true }), DatabaseModule.forRoot(entities)],
      providers: [StripeClient, ...PAYOUT_RAIL_PROVIDERS, ReconciliationService],
    };
  }
}
