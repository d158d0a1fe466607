import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { OffersModule } from '../offers/offers.module';
import { AffiliateOffersService } from './affiliate-offers.service';
import { ClickBuffer } from './click-buffer';
import { ClickIdService } from './click-id.service';
import { ClickPartitionsService } from './click-partitions.service';
import { ClickRedirectService } from './click-redirect.service';
import { ClickRetentionService } from './click-retention.service';
import { ClicksController } from './clicks.controller';
import { ClicksService } from './clicks.service';
import { CouponsController } from './coupons.controller';
import { CouponsService } from './coupons.service';
import { LinksController } from './links.controller';
import { LinksService } from './links.service';
import { RedirectController } from './redirect.controller';
import { TRACKING_ENTITIES } from './tracking.entities';

/**
 * Links, the click redirect and its write-behind buffer, click ids, clicks and coupon codes.
 * Not global on purpose: ClickBuffer's shutdown flush relies on running before the global
 * TypeORM module closes its pool (Nest shuts global modules down last).
 */
@Module({
  imports: [TypeOrmModule.forFeature(TRACKING_ENTITIES), OffersModule],
  controllers: [RedirectController, LinksController, ClicksController, CouponsController],
  providers: [
    ClickIdService,
    ClickBuffer,
    ClickRedirectService,
    ClickPartitionsService,
    ClickRetentionService,
    LinksService,
    ClicksService,
    CouponsService,
    AffiliateOffersService,
  ],
  exports: [ClickIdService, ClickBuffer, LinksService, ClicksService, CouponsService],
})
export class TrackingModule {}
