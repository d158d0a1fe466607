import { RiskView } from '../../../common/risk/risk.dto';
import { RISK_CODES, RiskCode } from '../../../common/risk/risk';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsISO8601, IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { PageQueryDto } from '../../../common/pagination';
import { IsCurrencyCode, IsUuidString, MinorUnits } from '../../../common/validation/validators';
import { CONVERSION_HOLDS, CONVERSION_STATUSES, ConversionHold, ConversionStatus } from '../conversion.entity';
import { IsConversionTime } from '../conversion-time';

export const GOAL_KEY = /^[a-z0-9][a-z0-9_.-]{0,63}$/;
export const TXN_ID = /^[\x21-\x7e]{1,128}$/;
export const COUPON_CODE = /^[A-Za-z0-9_-]{1,64}$/;
export const CUSTOMER_ID = /^[\x20-\x7e]{1,200}$/;

export class CreateConversionDto {
  @ApiPropertyOptional({ description: 'admin only: the advertiser the conversion belongs to' })
  @IsOptional()
  @IsUuidString()
  advertiserId?: string;

  @ApiPropertyOptional({ description: 'the click id our redirect put in the landing URL' })
  @IsOptional()
  @IsString()
  @MaxLength(256)
  clickId?: string;

  @ApiPropertyOptional({ description: 'a coupon code used at checkout' })
  @IsOptional()
  @Matches(COUPON_CODE, { message: 'coupon must be 1-64 letters, digits, _ or -' })
  coupon?: string;

  @ApiProperty({ example: 'sale' })
  @Matches(GOAL_KEY, { message: 'goal must be a goal key such as sale or lead' })
  goal: string;

  @ApiProperty({ description: 'your order or lead id; the same one twice is one conversion', example: 'ORDER-10042' })
  @Matches(TXN_ID, { message: 'txnId must be 1-128 printable characters without spaces' })
  txnId: string;

  @ApiPropertyOptional({ description: 'sale amount in minor units (cents)' })
  @IsOptional()
  @MinorUnits()
  saleAmount?: number;

  @ApiPropertyOptional({ example: 'USD' })
  @IsOptional()
  @IsCurrencyCode()
  currency?: string;

  @ApiPropertyOptional({
    description: 'when the conversion happened: ISO 8601 with a zone, or unix seconds; default now. Counts for the attribution window and the caps',
    example: '2026-03-01T23:59:00Z',
  })
  @IsOptional()
  @IsConversionTime()
  occurredAt?: string | number;

  @ApiPropertyOptional({ description: "your id of the paying customer (up to 200 characters): a customer's later conversions can be found by it" })
  @IsOptional()
  @Matches(CUSTOMER_ID, { message: 'customerId must be 1-200 printable characters' })
  customerId?: string;
}

export class TransitionDto {
  @ApiPropertyOptional({ maxLength: 500 })
  @IsOptional()
  @IsString()
  @MaxLength(500)
  reason?: string;
}

export class ListConversionsQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ enum: CONVERSION_STATUSES })
  @IsOptional()
  @IsIn(CONVERSION_STATUSES as unknown as string[])
  status?: ConversionStatus;

  @ApiPropertyOptional() @IsOptional() @IsUuidString() offerId?: string;
  @ApiPropertyOptional() @IsOptional() @IsUuidString() affiliateId?: string;
  @ApiPropertyOptional({ description: 'staff only' }) @IsOptional() @IsUuidString() advertiserId?: string;
  @ApiPropertyOptional() @IsOptional() @Matches(TXN_ID) txnId?: string;
  @ApiPropertyOptional({ description: 'ISO 8601, inclusive' }) @IsOptional() @IsISO8601({ strict: true }) from?: string;
  @ApiPropertyOptional({ description: 'ISO 8601, exclusive' }) @IsOptional() @IsISO8601({ strict: true }) to?: string;
  @ApiPropertyOptional({ enum: CONVERSION_HOLDS, description: 'held ones only: `review` is the review queue' })
  @IsOptional()
  @IsIn(CONVERSION_HOLDS as unknown as string[])
  hold?: ConversionHold;
  @ApiPropertyOptional({ enum: RISK_CODES, description: 'those whose risk carries this reason' }) @IsOptional() @IsIn(RISK_CODES as unknown as string[]) riskReason?: RiskCode;
}

export class ConversionEventView {
  @ApiProperty({ nullable: true }) fromStatus: string | null;
  @ApiProperty() toStatus: string;
  @ApiProperty({ enum: ['principal', 'postback', 'system'] }) actorType: string;
  @ApiProperty({ nullable: true }) actorId: string | null;
  @ApiProperty({ nullable: true }) reason: string | null;
  @ApiProperty() createdAt: string;
}

export class ConversionView {
  @ApiProperty() id: string;
  @ApiProperty({ nullable: true }) offerId: string | null;
  @ApiProperty() goal: string;
  @ApiProperty({ nullable: true }) affiliateId: string | null;
  @ApiProperty({ nullable: true }) clickId: string | null;
  @ApiProperty({ nullable: true }) coupon: string | null;
  @ApiProperty() txnId: string;
  @ApiProperty({ nullable: true, type: 'integer' }) saleAmount: number | null;
  @ApiPropertyOptional({ type: 'integer', description: 'hidden from affiliates' }) revenue?: number;
  @ApiPropertyOptional({ type: 'integer', description: 'hidden from advertisers' }) payout?: number;
  @ApiPropertyOptional({ type: 'integer', description: 'admin and finance only' }) margin?: number;
  @ApiProperty({ nullable: true }) currency: string | null;
  @ApiProperty({ enum: CONVERSION_STATUSES }) status: ConversionStatus;
  @ApiProperty({ nullable: true }) reason: string | null;
  @ApiPropertyOptional({ nullable: true }) reasonDetail?: string | null;
  @ApiPropertyOptional({ nullable: true }) attributedBy?: string | null;
  @ApiPropertyOptional() advertiserId?: string;
  @ApiPropertyOptional() source?: string;
  @ApiPropertyOptional() payoutRule?: unknown;
  @ApiPropertyOptional() revenueRule?: unknown;
  @ApiPropertyOptional() rounding?: unknown;
  @ApiPropertyOptional({ nullable: true }) approveAfter?: string | null;
  @ApiProperty({ nullable: true }) customerId: string | null;
  @ApiProperty({ nullable: true, enum: CONVERSION_HOLDS, description: 'why a pending conversion waits for more than its lock period' }) hold: ConversionHold | null;
  @ApiPropertyOptional({ type: RiskView, nullable: true, description: 'score 0–100 with its reasons (README, "Traffic quality"); null when never scored' }) risk: RiskView | null;
  @ApiPropertyOptional({ nullable: true, description: 'when the conversion happened, as the advertiser reported it (conversion_time / occurredAt); null: when it was received' })
  occurredAt?: string | null;
  @ApiProperty() createdAt: string;
  @ApiPropertyOptional({ type: [ConversionEventView] }) events?: ConversionEventView[];
}

export class PostbackResultView {
  @ApiProperty() id: string;
  @ApiProperty({ enum: CONVERSION_STATUSES }) status: ConversionStatus;
  @ApiPropertyOptional() reason?: string;
}
