import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { PrincipalsModule } from '../principals/principals.module';
import { CommissionPostingsModule } from './commission-postings';
import { LedgerModule } from '../ledger/ledger.module';
import { TrackingModule } from '../tracking/tracking.module';
import { ConversionEvent } from './conversion-event.entity';
import { Conversion } from './conversion.entity';
import { ConversionsController } from './conversions.controller';
import { ConversionsService } from './conversions.service';
import { OfferSnapshots } from './offer-snapshots';
import { PostbackController } from './postback.controller';

@Module({
  imports: [TypeOrmModule.forFeature([Conversion, ConversionEvent]), PrincipalsModule, TrackingModule, LedgerModule, CommissionPostingsModule],
  controllers: [ConversionsController, PostbackController],
  providers: [ConversionsService, OfferSnapshots],
  exports: [ConversionsService],
})
export class ConversionsModule {}
