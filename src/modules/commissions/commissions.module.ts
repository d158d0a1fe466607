import { Module } from '@nestjs/common';
import { ConversionsModule } from '../conversions/conversions.module';
import { LedgerModule } from '../ledger/ledger.module';
import { CommissionPostingsModule } from './commission-postings';
import { CommissionsService } from './commissions.service';
import { SweeperService } from './sweeper.service';

@Module({
  imports: [ConversionsModule, LedgerModule, CommissionPostingsModule],
  providers: [CommissionsService, SweeperService],
  exports: [CommissionsService, SweeperService],
})
export class CommissionsModule {}
