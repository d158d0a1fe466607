import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { OutboxModule } from '../../queue/outbox/outbox.module';
import { LedgerModule } from '../ledger/ledger.module';
import { Payout, PayoutAccount, PayoutRun } from './payout.entities';
import { PayoutAccountsService } from './payout-accounts.service';
import { PayoutRunsService } from './payout-runs.service';
import { PayoutsController } from './payouts.controller';
import { PAYOUTS_ROUTES, PayoutsJobs } from './payouts.jobs';

@Module({
  imports: [TypeOrmModule.forFeature([PayoutAccount, PayoutRun, Payout]), LedgerModule, OutboxModule.forFeature(PAYOUTS_ROUTES)],
  controllers: [PayoutsController],
  providers: [PayoutAccountsService, PayoutRunsService, PayoutsJobs],
  exports: [PayoutAccountsService, PayoutRunsService],
})
export class PayoutsModule {}
