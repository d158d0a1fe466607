import { Module } from '@nestjs/common';
import { ConversionsModule } from '../conversions/conversions.module';
import { OutboxModule } from '../../queue/outbox/outbox.module';
import { LedgerModule } from '../ledger/ledger.module';
import { ProgramsModule } from '../programs/programs.module';
import { CommissionPostingsModule } from '../conversions/commission-postings';
import { COMMISSIONS_ROUTES, CommissionsJobs, MaintenanceJobs } from './commissions.jobs';
import { CommissionsService } from './commissions.service';
import { SweeperService } from './sweeper.service';

@Module({
  imports: [ConversionsModule, LedgerModule, CommissionPostingsModule, ProgramsModule, OutboxModule.forFeature(COMMISSIONS_ROUTES)],
  providers: [CommissionsService, SweeperService, CommissionsJobs, MaintenanceJobs],
  exports: [CommissionsService, SweeperService],
})
export class CommissionsModule {}
