import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsInt, IsOptional, Matches, Max, Min, MinLength } from 'class-validator';
import { MAX_MINOR_UNITS } from '../../../common/money';
import { PageQueryDto } from '../../../common/pagination';
import { IsUuidString, MinorUnits, TrimmedString } from '../../../common/validation/validators';
import { AWARD_STATUSES, AwardStatus, Bonus, BONUS_METRICS, BONUS_PERIODS, BonusAward, BonusMetric, BonusPeriod } from '../bonus.entities';

export class CreateBonusDto {
  @ApiProperty({ example: '50 sales in a month' })
  @TrimmedString(200)
  @MinLength(1)
  name: string;

  @ApiPropertyOptional({ description: 'the goal whose conversions count; all goals of the offer when left out' })
  @IsOptional()
  @Matches(/^[a-z0-9][a-z0-9_.-]{0,63}$/, { message: 'goal must be a goal key such as sale or lead' })
  goal?: string;

  @ApiProperty({ enum: BONUS_METRICS })
  @IsIn(BONUS_METRICS)
  metric: BonusMetric;

  @ApiProperty({ type: 'integer', minimum: 1, description: 'approved conversions, or their sale amount in minor units, that earn the bonus' })
  @IsInt({ message: 'threshold must be a whole number' })
  @Min(1)
  @Max(MAX_MINOR_UNITS)
  threshold: number;

  @ApiProperty({ enum: BONUS_PERIODS, description: 'month: calendar months of the offer time zone' })
  @IsIn(BONUS_PERIODS)
  period: BonusPeriod;

  @ApiProperty({ type: 'integer', minimum: 1, description: 'minor units of the offer currency' })
  @MinorUnits()
  @Min(1, { message: 'amount must be at least 1 minor unit' })
  amount: number;
}

export class ListAwardsQueryDto extends PageQueryDto {
  @ApiPropertyOptional() @IsOptional() @IsUuidString() offerId?: string;
  @ApiPropertyOptional({ description: 'staff and advertisers' }) @IsOptional() @IsUuidString() affiliateId?: string;
  @ApiPropertyOptional({ enum: AWARD_STATUSES }) @IsOptional() @IsIn(AWARD_STATUSES) status?: AwardStatus;
}

export class BonusView {
  @ApiProperty() id: string;
  @ApiProperty() offerId: string;
  @ApiProperty() name: string;
  @ApiProperty({ nullable: true }) goal: string | null;
  @ApiProperty({ enum: BONUS_METRICS }) metric: BonusMetric;
  @ApiProperty() threshold: number;
  @ApiProperty({ enum: BONUS_PERIODS }) period: BonusPeriod;
  @ApiProperty() amount: number;
  @ApiProperty() currency: string;
  @ApiProperty() createdAt: string;

  static from(b: Bonus): BonusView {
    return {
      id: b.id,
      offerId: b.offerId,
      name: b.name,
      goal: b.goalKey,
      metric: b.metric,
      threshold: b.threshold,
      period: b.period,
      amount: b.amount,
      currency: b.currency,
      createdAt: b.createdAt.toISOString(),
    };
  }
}

export class AwardView {
  @ApiProperty() id: string;
  @ApiProperty() bonusId: string;
  @ApiProperty() affiliateId: string;
  @ApiProperty() offerId: string;
  @ApiProperty({ example: '2026-12', description: 'YYYY-MM in the offer time zone, or all_time' }) period: string;
  @ApiProperty() amount: number;
  @ApiProperty() currency: string;
  @ApiProperty({ enum: AWARD_STATUSES }) status: AwardStatus;
  @ApiProperty() earnedAt: string;
  @ApiProperty({ nullable: true }) clawedBackAt: string | null;

  static from(a: BonusAward): AwardView {
    return {
      id: a.id,
      bonusId: a.bonusId,
      affiliateId: a.affiliateId,
      offerId: a.offerId,
      period: a.period,
      amount: a.amount,
      currency: a.currency,
      status: a.status,
      earnedAt: a.createdAt.toISOString(),
      clawedBackAt: a.clawedBackAt?.toISOString() ?? null,
    };
  }
}
