import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsIn, IsISO8601, IsOptional } from 'class-validator';
import { PageQueryDto } from '../../../common/pagination';
import { IsCurrencyCode, IsUuidString } from '../../../common/validation/validators';

export class RequestPayoutRunDto {
  @ApiProperty({ example: 'USD' })
  @IsCurrencyCode()
  currency: string;

  @ApiPropertyOptional({ default: false, description: 'preview who would be paid how much, with no side effect' })
  @IsOptional()
  @IsBoolean()
  dryRun?: boolean;
}

export class ListPayoutsQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ description: 'staff only' }) @IsOptional() @IsUuidString() affiliateId?: string;
  @ApiPropertyOptional() @IsOptional() @IsUuidString() runId?: string;
  @ApiPropertyOptional({ enum: ['pending', 'transferring', 'paid', 'failed'] }) @IsOptional() @IsIn(['pending', 'transferring', 'paid', 'failed']) status?: string;
  @ApiPropertyOptional() @IsOptional() @IsCurrencyCode() currency?: string;
  @ApiPropertyOptional({ description: 'ISO 8601, created at or after' }) @IsOptional() @IsISO8601({ strict: true }) from?: string;
  @ApiPropertyOptional({ description: 'ISO 8601, created before' }) @IsOptional() @IsISO8601({ strict: true }) to?: string;
}

export class ProgressView {
  @ApiProperty() done: number;
  @ApiProperty() total: number;
}

export class PayoutRunView {
  @ApiProperty() id: string;
  @ApiProperty() currency: string;
  @ApiProperty({ enum: ['queued', 'running', 'completed', 'failed'] }) status: string;
  @ApiProperty() dryRun: boolean;
  @ApiProperty({ type: ProgressView, description: 'payouts settled (paid or failed) of those planned' }) progress: ProgressView;
  @ApiProperty({ type: ProgressView, description: 'minor units transferred of those planned' }) amounts: ProgressView;
  @ApiProperty() paid: number;
  @ApiProperty() failed: number;
  @ApiPropertyOptional({ description: 'dry runs: the first 1 000 payouts it would make' }) preview?: { affiliateId: string; amount: number; clawbackNetted: number }[];
  @ApiPropertyOptional({ nullable: true }) error: string | null;
  @ApiProperty() createdAt: string;
  @ApiPropertyOptional({ nullable: true }) finishedAt: string | null;
}

export class PayoutView {
  @ApiProperty() id: string;
  @ApiProperty() runId: string;
  @ApiProperty() affiliateId: string;
  @ApiProperty() currency: string;
  @ApiProperty({ description: 'transferred, in minor units' }) amount: number;
  @ApiProperty({ description: 'clawback settled out of the balance, in minor units' }) clawbackNetted: number;
  @ApiProperty({ description: 'reversed on Stripe so far (partial reversals), back in the balance, in minor units' }) reversedAmount: number;
  @ApiProperty({ enum: ['pending', 'transferring', 'paid', 'failed'] }) status: string;
  @ApiPropertyOptional({ nullable: true }) stripeTransferId: string | null;
  @ApiPropertyOptional({ nullable: true }) failureCode: string | null;
  @ApiProperty() createdAt: string;
  @ApiPropertyOptional({ nullable: true }) paidAt: string | null;
}

export class PayoutAccountView {
  @ApiProperty() accountId: string;
  @ApiProperty({ description: 'the Stripe onboarding link' }) url: string;
}
