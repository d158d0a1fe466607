import { Module } from '@nestjs/common';
import { ConversionsModule } from '../conversions/conversions.module';
import { LedgerModule } from '../ledger/ledger.module';
import { CommissionPostingsModule } from './commission-postings';
import { CommissionsService } from './commissions.service';

@Module({
  imports: [ConversionsModule, LedgerModule, CommissionPostingsModule],
  providers: [CommissionsService],
  exports: [CommissionsService],
})
export class CommissionsModule {}
