import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsInt, IsOptional, Max, Min, MinLength, NotEquals } from 'class-validator';
import { MAX_MINOR_UNITS } from '../../../common/money';
import { PageQueryDto } from '../../../common/pagination';
import { IsCurrencyCode, IsUuidString, TrimmedString } from '../../../common/validation/validators';
import { Adjustment } from '../adjustment.entity';

export class CreateAdjustmentDto {
  @ApiPropertyOptional({ description: 'a client-chosen id (uuid): repeating the request with it answers the same adjustment' })
  @IsOptional()
  @IsUuidString()
  id?: string;

  @ApiProperty()
  @IsUuidString()
  affiliateId: string;

  @ApiProperty({ example: 'USD' })
  @IsCurrencyCode()
  currency: string;

  @ApiProperty({
    type: 'integer',
    description: "signed minor units: positive credits the affiliate's available balance, negative debits it (beyond available, the rest becomes a clawback)",
  })
  @IsInt({ message: 'amount must be an integer number of minor units' })
  @NotEquals(0, { message: 'amount must not be zero' })
  @Min(-MAX_MINOR_UNITS)
  @Max(MAX_MINOR_UNITS)
  amount: number;

  @ApiProperty({ maxLength: 500, description: 'why; shown on the affiliate’s statement' })
  @TrimmedString(500)
  @MinLength(1, { message: 'reason must not be empty' })
  reason: string;
}

export class ListAdjustmentsQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ description: 'staff: any affiliate; an affiliate may name only itself' })
  @IsOptional()
  @IsUuidString()
  affiliateId?: string;

  @ApiPropertyOptional({ example: 'USD' })
  @IsOptional()
  @IsCurrencyCode()
  currency?: string;
}

/** The Idempotency-Key header, checked like a field. */
export const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

export class AdjustmentView {
  @ApiProperty() id: string;
  @ApiProperty() affiliateId: string;
  @ApiProperty() currency: string;
  @ApiProperty({ type: 'integer' }) amount: number;
  @ApiProperty({ type: 'integer', description: 'the part of a debit that became a clawback (available could not cover it)' }) clawback: number;
  @ApiProperty() reason: string;
  @ApiProperty() createdAt: string;
  @ApiProperty() createdBy: string;

  static from(a: Adjustment): AdjustmentView {
    return {
      id: a.id,
      affiliateId: a.affiliateId,
      currency: a.currency,
      amount: a.amount,
      clawback: a.clawback,
      reason: a.reason,
      createdAt: a.createdAt.toISOString(),
      createdBy: a.createdBy,
    };
  }
}
