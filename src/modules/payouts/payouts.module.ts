import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { LedgerModule } from '../ledger/ledger.module';
import { Payout, PayoutAccount, PayoutRun } from './payout.entities';
import { PayoutAccountsService } from './payout-accounts.service';
import { PayoutRunsService } from './payout-runs.service';
import { PayoutsController } from './payouts.controller';

@Module({
  imports: [TypeOrmModule.forFeature([PayoutAccount, PayoutRun, Payout]), LedgerModule],
  controllers: [PayoutsController],
  providers: [PayoutAccountsService, PayoutRunsService],
  exports: [PayoutAccountsService, PayoutRunsService],
})
export class PayoutsModule {}
