import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { LedgerModule } from '../ledger/ledger.module';
import { OffersModule } from '../offers/offers.module';
import { Bonus, BonusAward } from './bonus.entities';
import { BonusesController } from './bonuses.controller';
import { BonusesService } from './bonuses.service';

/** Commission programs on top of the conversions: bonuses (and prepaid funding). */
@Module({
  imports: [TypeOrmModule.forFeature([Bonus, BonusAward]), LedgerModule, OffersModule],
  controllers: [BonusesController],
  providers: [BonusesService],
  exports: [BonusesService],
})
export class ProgramsModule {}
