import { ApiProperty, ApiPropertyOptional, IntersectionType, OmitType, PartialType } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
  registerDecorator,
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import { IsCurrencyCode, IsTimeZone, IsUuidString, MinorUnits, TrimmedString } from '../../../common/validation/validators';
import { PageQueryDto } from '../../../common/pagination';
import type { QualityPolicy } from '../../../common/risk/risk';
import { ATTRIBUTION_PRIORITIES, AttributionPriority, OFFER_STATUSES, OFFER_VISIBILITIES, OfferStatus, OfferVisibility } from '../offer.entity';
import { ACCESS_STATUSES, AccessStatus } from '../offer-access.entity';
import { validateUrlTemplate, LANDING_MACROS } from '../url-template';
import { FlatRuleFields, PercentRuleFields, RULE_TYPE_KEYS, RuleKey, TIER_BASES, TierBasis, TieredRuleFields, TierFields, TierUsed } from '../../rules';

/** `{type: "flat", amount}` in minor units, `{type: "percent", bps}` of the sale amount, or `{type: "tiered", basis, period, tiers}`: each type's fields come from its rule file. */
export class RateRuleDto extends IntersectionType(FlatRuleFields, PercentRuleFields, TieredRuleFields) {
  @ApiProperty({ enum: RULE_TYPE_KEYS })
  @IsIn(RULE_TYPE_KEYS)
  type: RuleKey;
}

export class PayoutOverrideDto {
  @ApiProperty()
  @IsUuidString()
  affiliateId: string;

  @ApiProperty({ type: RateRuleDto })
  @ValidateNested()
  @Type(() => RateRuleDto)
  payout: RateRuleDto;
}

export class RecurringDto {
  @ApiProperty({
    type: 'integer',
    nullable: true,
    minimum: 1,
    maximum: 1200,
    description: 'how many months after the customer’s first conversion its later ones earn; null: for life',
  })
  @ValidateIf((o: { months?: unknown }) => o.months !== null)
  @IsInt({ message: 'months must be a whole number of months, or null for life' })
  @Min(1)
  @Max(1200)
  months: number | null;
}

export class GoalDto {
  @ApiProperty({ example: 'sale', description: 'lead, sale, signup or any key of your own' })
  @IsString()
  @Matches(/^[a-z0-9][a-z0-9_.-]{0,63}$/, { message: 'key must be 1-64 lower-case letters, digits, _ . or -' })
  key: string;

  @ApiPropertyOptional()
  @IsOptional()
  @TrimmedString(200)
  name?: string;

  @ApiProperty({ type: RateRuleDto, description: 'what the advertiser pays per result' })
  @ValidateNested()
  @Type(() => RateRuleDto)
  revenue: RateRuleDto;

  @ApiProperty({ type: RateRuleDto, description: 'what the affiliate earns per result' })
  @ValidateNested()
  @Type(() => RateRuleDto)
  payout: RateRuleDto;

  @ApiPropertyOptional({
    type: RecurringDto,
    nullable: true,
    description: "later conversions carrying the same customerId, without click or coupon, earn for the affiliate of the customer's first conversion on the offer",
  })
  @IsOptional()
  @ValidateNested()
  @Type(() => RecurringDto)
  recurring?: RecurringDto | null;

  @ApiPropertyOptional({ type: [PayoutOverrideDto] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(1000)
  @ValidateNested({ each: true })
  @Type(() => PayoutOverrideDto)
  overrides?: PayoutOverrideDto[];
}

const CAP = () => (target: object, key: string) => {
  ApiPropertyOptional({ type: 'integer', minimum: 1 })(target, key);
  IsOptional()(target, key);
  IsInt({ message: `${key} must be a whole number` })(target, key);
  Min(1)(target, key);
  Max(1_000_000_000)(target, key);
};

export class CapsDto {
  @CAP() dailyConversions?: number;
  @CAP() monthlyConversions?: number;
  @CAP() totalConversions?: number;
  @CAP() affiliateDailyConversions?: number;
  @CAP() affiliateMonthlyConversions?: number;
  @CAP() affiliateTotalConversions?: number;

  @ApiPropertyOptional({ type: 'integer', description: 'total revenue the advertiser will pay, in minor units' })
  @IsOptional()
  @MinorUnits()
  revenueBudget?: number;
}

function IsUrlTemplate(macros: readonly string[]): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'isUrlTemplate',
      target: target.constructor,
      propertyName: propertyName as string,
      validator: {
        validate: (value: unknown) => typeof value === 'string' && validateUrlTemplate(value, macros) === null,
        defaultMessage: (args) => `${args?.property} ${typeof args?.value === 'string' ? validateUrlTemplate(args.value, macros) : 'must be a URL'}`,
      },
    });
}

export class QualityPolicyDto {
  @ApiPropertyOptional({
    nullable: true,
    minimum: 0,
    maximum: 100,
    default: 60,
    description: 'a conversion scoring at least this waits for review (hold "review"); null: never held',
  })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(100)
  holdAbove?: number | null;

  @ApiPropertyOptional({ nullable: true, minimum: 0, maximum: 100, default: null, description: 'a conversion scoring at least this is rejected with reason "risk"; null: never' })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(100)
  rejectAbove?: number | null;
}

export class CreateOfferDto {
  @ApiPropertyOptional({ description: 'admin only: the advertiser that owns the offer' })
  @IsOptional()
  @IsUuidString()
  advertiserId?: string;

  @ApiProperty({ example: 'Acme Tents – summer sale' })
  @TrimmedString(200)
  @MinLength(1)
  name: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(5000)
  description?: string;

  @ApiProperty({ example: 'https://acme.example/tents?cid={click_id}&aff={affiliate_id}&s1={sub1}', description: `macros: ${LANDING_MACROS.map((m) => `{${m}}`).join(' ')}` })
  @MaxLength(2000)
  @IsUrlTemplate(LANDING_MACROS)
  landingUrl: string;

  @ApiPropertyOptional({ description: 'where clicks go while the offer is paused or archived, or the affiliate suspended' })
  @IsOptional()
  @MaxLength(2000)
  @IsUrlTemplate(LANDING_MACROS)
  fallbackUrl?: string;

  @ApiProperty({ example: 'USD' })
  @IsCurrencyCode()
  currency: string;

  @ApiPropertyOptional({ enum: OFFER_STATUSES, default: 'active' })
  @IsOptional()
  @IsIn(OFFER_STATUSES as unknown as string[])
  status?: OfferStatus;

  @ApiPropertyOptional({ enum: OFFER_VISIBILITIES, default: 'public' })
  @IsOptional()
  @IsIn(OFFER_VISIBILITIES as unknown as string[])
  visibility?: OfferVisibility;

  @ApiPropertyOptional({ default: 30, minimum: 1, maximum: 365 })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(365)
  attributionWindowDays?: number;

  @ApiPropertyOptional({ default: 30, minimum: 0, maximum: 365, description: '0 approves conversions at once' })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(365)
  lockPeriodDays?: number;

  @ApiPropertyOptional({ enum: ATTRIBUTION_PRIORITIES, default: 'coupon_first' })
  @IsOptional()
  @IsIn(ATTRIBUTION_PRIORITIES as unknown as string[])
  attributionPriority?: AttributionPriority;

  @ApiPropertyOptional({ default: 0, description: 'conversions sooner than this after the click are rejected' })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(30 * 24 * 3600)
  minClickToConversionSeconds?: number;

  @ApiPropertyOptional({ type: CapsDto })
  @IsOptional()
  @ValidateNested()
  @Type(() => CapsDto)
  caps?: CapsDto;

  @ApiPropertyOptional({ default: 'UTC', example: 'America/New_York', description: 'IANA time zone whose days and months the caps count' })
  @IsOptional()
  @IsTimeZone()
  timezone?: string;

  @ApiPropertyOptional({ default: false, description: "whether a conversion pixel's amount counts; the pixel is unauthenticated, so by default its amount is ignored" })
  @IsOptional()
  @IsBoolean()
  pixelAmounts?: boolean;

  @ApiPropertyOptional({ type: QualityPolicyDto, description: 'traffic quality policy (defaults: holdAbove 60, rejectAbove null)' })
  @IsOptional()
  @ValidateNested()
  @Type(() => QualityPolicyDto)
  quality?: QualityPolicyDto;

  @ApiProperty({ type: [GoalDto] })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(50)
  @ValidateNested({ each: true })
  @Type(() => GoalDto)
  goals: GoalDto[];
}

/** Any field but the owner and the currency; `goals` given is the full new set (goals left out are archived). */
export class UpdateOfferDto extends PartialType(OmitType(CreateOfferDto, ['advertiserId', 'currency'] as const)) {}

export class ListOffersQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ enum: OFFER_STATUSES })
  @IsOptional()
  @IsIn(OFFER_STATUSES as unknown as string[])
  status?: OfferStatus;

  @ApiPropertyOptional({ description: 'staff only' })
  @IsOptional()
  @IsUuidString()
  advertiserId?: string;
}

export class ApplyDto {
  @ApiPropertyOptional({ description: 'how the affiliate will promote the offer' })
  @IsOptional()
  @IsString()
  @MaxLength(2000)
  note?: string;
}

export class DecideApplicationDto {
  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(2000)
  note?: string;
}

export class ApplicationDto {
  @ApiProperty() offerId: string;
  @ApiProperty() affiliateId: string;
  @ApiProperty({ enum: ACCESS_STATUSES }) status: AccessStatus;
  @ApiPropertyOptional({ nullable: true }) note: string | null;
  @ApiPropertyOptional({ nullable: true }) decidedAt: string | null;
  @ApiProperty() createdAt: string;
}

export class RateRuleView {
  @ApiProperty({ enum: RULE_TYPE_KEYS }) type: RuleKey;
  @ApiPropertyOptional({ type: 'integer' }) amount?: number;
  @ApiPropertyOptional({ type: 'integer' }) bps?: number;
  @ApiPropertyOptional({ enum: TIER_BASES }) basis?: TierBasis;
  @ApiPropertyOptional({ enum: ['month'] }) period?: 'month';
  @ApiPropertyOptional({ type: [TierFields] }) tiers?: TierFields[];
  @ApiPropertyOptional({ description: 'on a conversion: the tier it was paid at, {number, from, volume, rule}' }) tier?: TierUsed;
}

export class GoalView {
  @ApiProperty() key: string;
  @ApiPropertyOptional({ nullable: true }) name: string | null;
  @ApiPropertyOptional({ type: RecurringDto, nullable: true }) recurring?: RecurringDto | null;
  @ApiPropertyOptional({ type: RateRuleView, description: 'hidden from affiliates' }) revenue?: RateRuleView;
  @ApiProperty({ type: RateRuleView, description: 'for an affiliate: its own effective payout' }) payout: RateRuleView;
  @ApiPropertyOptional({ type: RateRuleView, description: 'admin and finance: revenue minus payout, where both rules are of one type' }) margin?: RateRuleView | null;
  @ApiPropertyOptional({ type: [PayoutOverrideDto], description: 'hidden from affiliates' }) overrides?: { affiliateId: string; payout: RateRuleView }[];
}

export class OfferView {
  @ApiProperty() id: string;
  @ApiProperty() advertiserId: string;
  @ApiProperty() name: string;
  @ApiPropertyOptional({ nullable: true }) description: string | null;
  @ApiProperty() landingUrl: string;
  @ApiPropertyOptional({ nullable: true }) fallbackUrl: string | null;
  @ApiProperty() currency: string;
  @ApiProperty({ enum: OFFER_STATUSES }) status: OfferStatus;
  @ApiProperty({ enum: ['funds'], nullable: true, description: 'funds: paused because its prepaid advertiser ran out; a top-up resumes it' }) pausedReason: 'funds' | null;
  @ApiProperty({ enum: OFFER_VISIBILITIES }) visibility: OfferVisibility;
  @ApiProperty() attributionWindowDays: number;
  @ApiProperty() lockPeriodDays: number;
  @ApiProperty({ enum: ATTRIBUTION_PRIORITIES }) attributionPriority: AttributionPriority;
  @ApiProperty() minClickToConversionSeconds: number;
  @ApiProperty({ type: CapsDto }) caps: CapsDto;
  @ApiProperty({ example: 'UTC' }) timezone: string;
  @ApiProperty() pixelAmounts: boolean;
  @ApiProperty({ type: QualityPolicyDto }) quality: QualityPolicy;
  @ApiProperty({ type: [GoalView] }) goals: GoalView[];
  @ApiPropertyOptional({ enum: [...ACCESS_STATUSES, 'none'], description: 'affiliates: whether they may run the offer' }) access?: AccessStatus | 'none';
  @ApiProperty() createdAt: string;
  @ApiProperty() updatedAt: string;
}
