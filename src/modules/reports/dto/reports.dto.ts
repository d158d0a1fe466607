import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { ArrayMaxSize, ArrayUnique, IsArray, IsIn, IsOptional } from 'class-validator';
import { IsCurrencyCode, IsUuidString } from '../../../common/validation/validators';
import { PeriodQueryDto } from '../../statements/dto/statements.dto';

export const DIMENSIONS = ['hour', 'day', 'offer', 'goal', 'affiliate', 'advertiser', 'channel', 'sub1', 'sub2', 'sub3', 'sub4', 'sub5', 'country'] as const;
export type Dimension = (typeof DIMENSIONS)[number];
export const MAX_DIMENSIONS = 4;

/** `day,offer`, or the parameter repeated: one list of trimmed names either way. */
const toList = ({ value }: { value: unknown }) =>
  typeof value === 'string' || Array.isArray(value)
    ? [value]
        .flat()
        .flatMap((v) => String(v).split(','))
        .map((v) => v.trim())
        .filter(Boolean)
    : value;

/** The range of a report or a rebuild: local days in an IANA time zone. */
export class ReportPeriodDto extends PeriodQueryDto {}

export class StatsQueryDto extends ReportPeriodDto {
  @ApiPropertyOptional({
    description: `Comma-separated, up to ${MAX_DIMENSIONS} of: ${DIMENSIONS.join(', ')}. Rows are always split by currency.`,
    example: 'day,offer',
    type: String,
  })
  @IsOptional()
  @Transform(toList)
  @IsArray()
  @ArrayMaxSize(MAX_DIMENSIONS, { message: `groupBy takes at most ${MAX_DIMENSIONS} dimensions` })
  @ArrayUnique({ message: 'groupBy names a dimension twice' })
  @IsIn(DIMENSIONS, { each: true, message: `groupBy must list dimensions among ${DIMENSIONS.join(', ')}` })
  groupBy?: Dimension[];

  @ApiPropertyOptional({ description: 'one currency only' })
  @IsOptional()
  @IsCurrencyCode()
  currency?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsUuidString()
  offerId?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsUuidString()
  affiliateId?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsUuidString()
  advertiserId?: string;
}

/** One group and currency. Money in minor units; epc, cpa and cpl to 2 decimals; rates as fractions to 4. */
export class StatsRowView {
  @ApiPropertyOptional({ example: '2026-10-25T02:00:00+01:00', description: 'start of the local hour, with its UTC offset' }) hour?: string;
  @ApiPropertyOptional({ example: '2026-10-25' }) day?: string;
  @ApiPropertyOptional() offerId?: string;
  @ApiPropertyOptional({ nullable: true, description: 'null on the row that holds the clicks (clicks have no goal)' }) goal?: string | null;
  @ApiPropertyOptional() affiliateId?: string;
  @ApiPropertyOptional() advertiserId?: string;
  @ApiPropertyOptional({ nullable: true }) channel?: string | null;
  @ApiPropertyOptional({ nullable: true }) sub1?: string | null;
  @ApiPropertyOptional({ nullable: true, example: 'DE' }) country?: string | null;
  @ApiProperty({ example: 'USD' }) currency: string;
  @ApiProperty() clicks: number;
  @ApiProperty() uniqueClicks: number;
  @ApiProperty({ description: 'clicks that did not reach the landing page (offer paused or archived, affiliate suspended, link archived)' }) blockedClicks: number;
  @ApiProperty({ description: 'attributed conversions in any status: pending + approved + rejected + reversed' }) conversions: number;
  @ApiProperty() pending: number;
  @ApiProperty({ description: 'approved or paid' }) approved: number;
  @ApiProperty() rejected: number;
  @ApiProperty() reversed: number;
  @ApiProperty({ description: 'of pending: held for review by their risk score (README, "Traffic quality")' }) held: number;
  @ApiProperty({ description: 'of rejected: rejected for their risk score (reason risk)' }) riskRejected: number;
  @ApiProperty({ description: 'of pending, approved and paid conversions' }) saleAmount: number;
  @ApiPropertyOptional({ description: "the advertiser's cost; absent for affiliates" }) revenue?: number;
  @ApiPropertyOptional({ description: 'hidden from advertisers' }) payout?: number;
  @ApiPropertyOptional({ description: 'revenue − payout; admin and finance only' }) margin?: number;
  @ApiProperty({ nullable: true, description: 'conversions / clicks' }) conversionRate: number | null;
  @ApiProperty({ nullable: true, description: 'approved / (approved + rejected + reversed): lead quality of the decided ones' }) approvalRate: number | null;
  @ApiPropertyOptional({ nullable: true, description: 'payout per click; hidden from advertisers' }) epc?: number | null;
  @ApiProperty({ nullable: true, description: 'revenue per accepted sale-goal conversion (payout for affiliates)' }) cpa: number | null;
  @ApiProperty({ nullable: true, description: 'revenue per accepted lead-goal conversion (payout for affiliates)' }) cpl: number | null;
  @ApiPropertyOptional({ nullable: true, description: '(saleAmount − revenue) / revenue; absent for affiliates' }) roi?: number | null;
}

export class StatsTotalsView {
  @ApiProperty() clicks: number;
  @ApiProperty() uniqueClicks: number;
  @ApiProperty() blockedClicks: number;
  @ApiProperty() conversions: number;
  @ApiProperty() pending: number;
  @ApiProperty() approved: number;
  @ApiProperty() rejected: number;
  @ApiProperty() reversed: number;
  @ApiProperty() held: number;
  @ApiProperty() riskRejected: number;
  @ApiProperty({ nullable: true }) conversionRate: number | null;
  @ApiProperty({ nullable: true }) approvalRate: number | null;
  @ApiProperty({ type: [StatsRowView], description: 'money can only be added up within a currency: one total per currency' })
  byCurrency: StatsRowView[];
}

export class StatsView {
  @ApiProperty({ type: [StatsRowView] }) data: StatsRowView[];
  @ApiProperty({ type: StatsTotalsView }) totals: StatsTotalsView;
}

export class RebuildView {
  @ApiProperty({ description: 'first hour rebuilt (UTC)' }) from: string;
  @ApiProperty({ description: 'end of the last hour rebuilt (UTC), exclusive' }) to: string;
}
