import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { OutboxModule } from '../../queue/outbox/outbox.module';
import { PrincipalsModule } from '../principals/principals.module';
import { ConversionsModule } from '../conversions/conversions.module';
import { LedgerModule } from '../ledger/ledger.module';
import { OffersModule } from '../offers/offers.module';
import { Bonus, BonusAward } from './bonus.entities';
import { BonusesController } from './bonuses.controller';
import { BonusesService } from './bonuses.service';
import { AdvertiserFunding, FundingAlert } from './funding.entities';
import { FundingController } from './funding.controller';
import { FUNDING_ROUTES, FundingJobs } from './funding.jobs';
import { FundingService } from './funding.service';

/** Commission programs on top of the conversions and the ledger: bonuses and prepaid funding. */
@Module({
  imports: [
    TypeOrmModule.forFeature([Bonus, BonusAward, AdvertiserFunding, FundingAlert]),
    PrincipalsModule,
    ConversionsModule,
    LedgerModule,
    OffersModule,
    OutboxModule.forFeature(FUNDING_ROUTES),
  ],
  controllers: [BonusesController, FundingController],
  providers: [BonusesService, FundingService, FundingJobs],
  exports: [BonusesService, FundingService],
})
export class ProgramsModule {}
