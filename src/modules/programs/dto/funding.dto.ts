import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, Min, MinLength } from 'class-validator';
import { IsCurrencyCode, MinorUnits, TrimmedString } from '../../../common/validation/validators';
import { BILLING_MODES, BillingMode } from '../../principals/principal.entity';
import { FUNDING_STATUSES, FUNDING_VIA, FundingStatus, FundingVia } from '../funding.entities';

export class UpdateAdvertiserDto {
  @ApiPropertyOptional({ enum: BILLING_MODES, description: 'invoice: billed for results; prepaid: results are paid from funds topped up in advance' })
  @IsOptional()
  @IsIn(BILLING_MODES)
  billingMode?: BillingMode;

  @ApiPropertyOptional({
    type: 'integer',
    nullable: true,
    description: 'prepaid: alert (e-mail and webhook funding.low) when the available funds of a currency fall to this many minor units; null: no alert',
  })
  @IsOptional()
  @MinorUnits({ nullable: true })
  lowBalanceAlert?: number | null;
}

export class CreateFundingDto {
  @ApiProperty({ type: 'integer', minimum: 1, description: 'minor units' })
  @MinorUnits()
  @Min(1, { message: 'amount must be at least 1 minor unit' })
  amount: number;

  @ApiProperty({ example: 'USD', description: 'a currency the advertiser has an offer in' })
  @IsCurrencyCode()
  currency: string;

  @ApiProperty({ example: 'wire 2026-12-04 #4411' })
  @TrimmedString(200)
  @MinLength(1)
  reference: string;

  @ApiPropertyOptional({
    enum: FUNDING_VIA,
    default: 'recorded',
    description: 'recorded: money finance received, posted at once; stripe_invoice: a Stripe invoice is sent for it, posted when Stripe reports it paid',
  })
  @IsOptional()
  @IsIn(FUNDING_VIA)
  via?: FundingVia;
}

export class FundingBalanceView {
  @ApiProperty() currency: string;
  @ApiProperty({ type: 'integer', description: 'top-ups, ever' }) funded: number;
  @ApiProperty({ type: 'integer', description: 'revenue of recorded conversions set aside, not approved yet' }) reserved: number;
  @ApiProperty({ type: 'integer', description: 'revenue of approved conversions paid from the funds, net of reversals' }) spent: number;
  @ApiProperty({ type: 'integer', description: 'funded − reserved − spent' }) available: number;
}

export class FundingView {
  @ApiProperty() advertiserId: string;
  @ApiProperty({ enum: BILLING_MODES }) billingMode: BillingMode;
  @ApiProperty({ type: 'integer', nullable: true }) lowBalanceAlert: number | null;
  @ApiProperty({ type: [FundingBalanceView] }) balances: FundingBalanceView[];
  @ApiProperty({ type: 'integer', description: 'conversions waiting for funds (hold awaiting_funds)' }) awaitingFunds: number;
}

export class FundingCreatedView {
  @ApiProperty() id: string;
  @ApiProperty() advertiserId: string;
  @ApiProperty() amount: number;
  @ApiProperty() currency: string;
  @ApiProperty() reference: string;
  @ApiProperty() createdAt: string;
  @ApiProperty({ enum: FUNDING_STATUSES, description: 'pending: its Stripe invoice is not paid yet (nothing in the ledger)' }) status: FundingStatus;
  @ApiProperty({ type: String, nullable: true }) stripeInvoiceId: string | null;
  @ApiProperty({ type: String, nullable: true }) hostedInvoiceUrl: string | null;
  @ApiProperty({ type: FundingBalanceView }) balance: FundingBalanceView;
}
