import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { LedgerModule } from '../ledger/ledger.module';
import { Invoice, InvoiceCredit, InvoiceRun } from './billing.entities';
import { BillingController } from './billing.controller';
import { BillingService } from './billing.service';
import { InvoiceSettlementService } from './invoice-settlement.service';

@Module({
  imports: [TypeOrmModule.forFeature([InvoiceRun, Invoice, InvoiceCredit]), LedgerModule],
  controllers: [BillingController],
  providers: [BillingService, InvoiceSettlementService],
  exports: [BillingService, InvoiceSettlementService],
})
export class BillingModule {}
