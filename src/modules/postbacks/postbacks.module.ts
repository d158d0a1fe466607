import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { OutboxModule } from '../../queue/outbox/outbox.module';
import { OffersModule } from '../offers/offers.module';
import { TrackingModule } from '../tracking/tracking.module';
import { PostbackAttempt } from './postback-attempt.entity';
import { PostbackDeliveries } from './postback-deliveries';
import { PostbackRetention } from './postback-retention';
import { PostbackSetting } from './postback-setting.entity';
import { PostbacksController } from './postbacks.controller';
import { POSTBACKS_ROUTES, PostbacksJobs } from './postbacks.jobs';
import { PostbacksService } from './postbacks.service';

@Module({
  imports: [TypeOrmModule.forFeature([PostbackSetting, PostbackAttempt]), OffersModule, TrackingModule, OutboxModule.forFeature(POSTBACKS_ROUTES)],
  controllers: [PostbacksController],
  providers: [PostbacksService, PostbackDeliveries, PostbacksJobs, PostbackRetention],
  exports: [PostbacksService],
})
export class PostbacksModule {}
