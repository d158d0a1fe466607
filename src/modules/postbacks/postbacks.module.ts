import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { OffersModule } from '../offers/offers.module';
import { TrackingModule } from '../tracking/tracking.module';
import { PostbackAttempt } from './postback-attempt.entity';
import { PostbackDeliveries } from './postback-deliveries';
import { PostbackSetting } from './postback-setting.entity';
import { PostbacksController } from './postbacks.controller';
import { PostbacksService } from './postbacks.service';

@Module({
  imports: [TypeOrmModule.forFeature([PostbackSetting, PostbackAttempt]), OffersModule, TrackingModule],
  controllers: [PostbacksController],
  providers: [PostbacksService, PostbackDeliveries],
  exports: [PostbacksService],
})
export class PostbacksModule {}
