import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { OutboxModule } from '../../queue/outbox/outbox.module';
import { OffersModule } from '../offers/offers.module';
import { TrackingModule } from '../tracking/tracking.module';
import { PartnerPostbackAttempt } from './partner-postback-attempt.entity';
import { PartnerPostbackDeliveries } from './partner-postback-deliveries';
import { PartnerPostbackRetention } from './partner-postback-retention';
import { PartnerPostbackSetting } from './partner-postback-setting.entity';
import { PartnerPostbacksController } from './partner-postbacks.controller';
import { PARTNER_POSTBACKS_ROUTES, PartnerPostbacksJobs } from './partner-postbacks.jobs';
import { PartnerPostbacksService } from './partner-postbacks.service';

@Module({
  imports: [TypeOrmModule.forFeature([PartnerPostbackSetting, PartnerPostbackAttempt]), OffersModule, TrackingModule, OutboxModule.forFeature(PARTNER_POSTBACKS_ROUTES)],
  controllers: [PartnerPostbacksController],
  providers: [PartnerPostbacksService, PartnerPostbackDeliveries, PartnerPostbacksJobs, PartnerPostbackRetention],
  exports: [PartnerPostbacksService],
})
export class PartnerPostbacksModule {}
