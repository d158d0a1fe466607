import { PayoutMetrics } from './payout-metrics';
import { Module, OnModuleInit } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { OutboxModule } from '../../queue/outbox/outbox.module';
import { CommissionPostingsModule } from '../conversions/commission-postings';
import { LedgerModule } from '../ledger/ledger.module';
import { WebhooksModule } from '../webhooks/webhooks.module';
import { Payout, PayoutDestination, PayoutRun } from './payout.entities';
import { PayoutDestinationsService } from './payout-destinations.service';
import { PayoutRunsService } from './payout-runs.service';
import { PayoutsController } from './payouts.controller';
import { PAYOUT_RAIL_PROVIDERS, PayoutRails } from './rails/payout-rails';
import { PAYOUTS_ROUTES, PayoutsJobs } from './payouts.jobs';

@Module({
  imports: [TypeOrmModule.forFeature([PayoutDestination, PayoutRun, Payout]), LedgerModule, CommissionPostingsModule, WebhooksModule, OutboxModule.forFeature(PAYOUTS_ROUTES)],
  controllers: [PayoutsController],
  providers: [PayoutMetrics, ...PAYOUT_RAIL_PROVIDERS, PayoutDestinationsService, PayoutRunsService, PayoutsJobs],
  exports: [PayoutDestinationsService, PayoutRunsService, PayoutRails],
})
export class PayoutsModule implements OnModuleInit {
  constructor(
    private readonly rails: PayoutRails,
    private readonly runs: PayoutRunsService,
    private readonly destinations: PayoutDestinationsService,
  ) {}

  /** Each rail's events about payouts (reversals, account changes) come here; invoices' go to billing. */
  onModuleInit(): void {
    for (const rail of this.rails.all()) {
      rail.listen({
        transferReversed: (manager, from, reversal) => this.runs.transferReversed(manager, from, reversal),
        destinationUpdated: (manager, from, accountId, at) => this.destinations.destinationUpdated(manager, from, accountId, at),
      });
    }
  }
}
