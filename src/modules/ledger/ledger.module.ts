import { Module } from '@nestjs/common';
import { AdjustmentsController } from './adjustments.controller';
import { AdjustmentsService } from './adjustments.service';
import { LedgerController } from './ledger.controller';
import { LedgerService } from './ledger.service';

/** The double-entry ledger: other features post through LedgerService inside their own transactions. */
@Module({
  controllers: [LedgerController, AdjustmentsController],
  providers: [LedgerService, AdjustmentsService],
  exports: [LedgerService, AdjustmentsService],
})
export class LedgerModule {}
