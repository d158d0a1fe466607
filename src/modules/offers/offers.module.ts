import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { GoalPayoutOverride } from './goal-payout-override.entity';
import { OfferAccess } from './offer-access.entity';
import { OfferGoal } from './offer-goal.entity';
import { Offer } from './offer.entity';
import { OffersController } from './offers.controller';
import { OffersService } from './offers.service';

@Module({
  imports: [TypeOrmModule.forFeature([Offer, OfferGoal, GoalPayoutOverride, OfferAccess])],
  controllers: [OffersController],
  providers: [OffersService],
  exports: [OffersService],
})
export class OffersModule {}
