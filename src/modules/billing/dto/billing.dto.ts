import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsISO8601, IsOptional } from 'class-validator';
import { PageQueryDto } from '../../../common/pagination';
import { INVOICE_STATUSES } from '../billing.entities';
import { IsCurrencyCode, IsUuidString } from '../../../common/validation/validators';

export class RequestInvoiceRunDto {
  @ApiProperty({ example: '2026-10-01T00:00:00Z', description: 'start of the period (inclusive)' })
  @IsISO8601({ strict: true })
  from: string;

  @ApiProperty({ example: '2026-11-01T00:00:00Z', description: 'end of the period (exclusive)' })
  @IsISO8601({ strict: true })
  to: string;

  @ApiPropertyOptional({ description: 'only this currency; all by default' })
  @IsOptional()
  @IsCurrencyCode()
  currency?: string;
}

export class ListInvoicesQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ description: 'staff only' }) @IsOptional() @IsUuidString() advertiserId?: string;
  @ApiPropertyOptional() @IsOptional() @IsUuidString() runId?: string;
  @ApiPropertyOptional({ enum: INVOICE_STATUSES }) @IsOptional() @IsIn(INVOICE_STATUSES) status?: string;
  @ApiPropertyOptional({ description: 'ISO 8601, created at or after' }) @IsOptional() @IsISO8601({ strict: true }) createdFrom?: string;
  @ApiPropertyOptional({ description: 'ISO 8601, created before' }) @IsOptional() @IsISO8601({ strict: true }) createdTo?: string;
}

export class InvoiceRunView {
  @ApiProperty() id: string;
  @ApiProperty({ enum: ['queued', 'running', 'completed', 'failed'] }) status: string;
  @ApiProperty() from: string;
  @ApiProperty() to: string;
  @ApiPropertyOptional({ nullable: true }) currency: string | null;
  @ApiProperty() progress: { done: number; total: number };
  @ApiPropertyOptional({ nullable: true }) error: string | null;
  @ApiProperty({ description: 'invoices the run could not issue, and why; their results were released to the next run' })
  failures: { invoiceId: string; advertiserId: string; currency: string; error: string }[];
  @ApiProperty() createdAt: string;
}

export class InvoiceView {
  @ApiProperty() id: string;
  @ApiProperty() runId: string;
  @ApiProperty() advertiserId: string;
  @ApiProperty() currency: string;
  @ApiProperty() from: string;
  @ApiProperty() to: string;
  @ApiProperty({ description: 'minor units' }) amount: number;
  @ApiProperty() conversions: number;
  @ApiProperty({ enum: INVOICE_STATUSES }) status: string;
  @ApiProperty({ description: 'what Stripe collected, minor units' }) amountPaid: number;
  @ApiProperty({ description: 'written off as uncollectible, minor units' }) writtenOff: number;
  @ApiProperty({ description: 'credited for reversed results, minor units' }) credited: number;
  @ApiPropertyOptional({ nullable: true, description: 'why it could not be issued' }) error: string | null;
  @ApiPropertyOptional({ nullable: true }) stripeInvoiceId: string | null;
  @ApiPropertyOptional({ nullable: true }) hostedInvoiceUrl: string | null;
  @ApiProperty() lines: { offerId: string; offerName: string; goal: string; conversions: number; amount: number }[];
  @ApiProperty() createdAt: string;
  @ApiPropertyOptional({ nullable: true }) paidAt: string | null;
}
