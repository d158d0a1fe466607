import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { OutboxModule } from '../../queue/outbox/outbox.module';
import { LedgerModule } from '../ledger/ledger.module';
import { ProgramsModule } from '../programs/programs.module';
import { Invoice, InvoiceCredit, InvoiceRun } from './billing.entities';
import { BillingController } from './billing.controller';
import { BILLING_ROUTES, BillingJobs } from './billing.jobs';
import { BillingService } from './billing.service';
import { InvoiceSettlementService } from './invoice-settlement.service';

@Module({
  imports: [TypeOrmModule.forFeature([InvoiceRun, Invoice, InvoiceCredit]), LedgerModule, ProgramsModule, OutboxModule.forFeature(BILLING_ROUTES)],
  controllers: [BillingController],
  providers: [BillingService, InvoiceSettlementService, BillingJobs],
  exports: [BillingService, InvoiceSettlementService],
})
export class BillingModule {}
