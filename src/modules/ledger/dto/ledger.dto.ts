import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsISO8601, IsOptional, IsString, Matches, MaxLength, MinLength } from 'class-validator';
import { PageQueryDto } from '../../../common/pagination';
import { IsCurrencyCode, IsUuidString } from '../../../common/validation/validators';
import { CAUSE_TYPES, CauseType } from '../journal-entry.entity';
import { ACCOUNT_TYPES, LedgerAccountType, LedgerAccount } from '../ledger-account.entity';

class OwnerCurrencyFilterDto extends PageQueryDto {
  @ApiPropertyOptional({ description: 'the affiliate or advertiser owning the account' })
  @IsOptional()
  @IsUuidString()
  ownerId?: string;

  @ApiPropertyOptional({ example: 'USD' })
  @IsOptional()
  @IsCurrencyCode()
  currency?: string;
}

export class ListEntriesQueryDto extends OwnerCurrencyFilterDto {
  @ApiPropertyOptional({ description: 'entries with a line on this account' })
  @IsOptional()
  @IsUuidString()
  accountId?: string;

  @ApiPropertyOptional({ enum: ACCOUNT_TYPES, description: 'entries with a line on an account of this type' })
  @IsOptional()
  @IsIn(ACCOUNT_TYPES as unknown as string[])
  accountType?: LedgerAccountType;

  @ApiPropertyOptional({ enum: CAUSE_TYPES })
  @IsOptional()
  @IsIn(CAUSE_TYPES as unknown as string[])
  causeType?: CauseType;

  @ApiPropertyOptional({ description: 'the conversion, payout, invoice or adjustment id' })
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  causeId?: string;

  @ApiPropertyOptional({ example: 'commission' })
  @IsOptional()
  @Matches(/^[a-z][a-z0-9_]{0,63}$/, { message: 'kind must be a snake_case entry kind such as commission' })
  kind?: string;

  @ApiPropertyOptional({ description: 'effective on or after this instant (ISO 8601)' })
  @IsOptional()
  @IsISO8601({ strict: true })
  from?: string;

  @ApiPropertyOptional({ description: 'effective before this instant (ISO 8601)' })
  @IsOptional()
  @IsISO8601({ strict: true })
  to?: string;
}

export class ListLedgerAccountsQueryDto extends OwnerCurrencyFilterDto {
  @ApiPropertyOptional({ enum: ACCOUNT_TYPES })
  @IsOptional()
  @IsIn(ACCOUNT_TYPES as unknown as string[])
  type?: LedgerAccountType;
}

export class EarningsQueryDto {
  @ApiPropertyOptional({ description: 'admin and finance: required; an affiliate may name only itself' })
  @IsOptional()
  @IsUuidString()
  affiliateId?: string;

  @ApiPropertyOptional({ example: 'USD' })
  @IsOptional()
  @IsCurrencyCode()
  currency?: string;
}

export class JournalLineView {
  @ApiProperty() accountId: string;
  @ApiProperty({ enum: ACCOUNT_TYPES }) accountType: LedgerAccountType;
  @ApiPropertyOptional({ nullable: true }) ownerId: string | null;
  @ApiProperty() currency: string;
  @ApiProperty({ type: 'integer', description: 'minor units; debit positive, credit negative' }) amount: number;
}

export class JournalEntryView {
  @ApiProperty() id: string;
  @ApiProperty({ example: 'commission' }) kind: string;
  @ApiProperty({ enum: CAUSE_TYPES }) causeType: CauseType;
  @ApiProperty() causeId: string;
  @ApiPropertyOptional({ nullable: true }) memo: string | null;
  @ApiPropertyOptional({ nullable: true }) createdBy: string | null;
  @ApiProperty({ description: 'the accounting date' }) effectiveAt: string;
  @ApiProperty() createdAt: string;
  @ApiProperty({ type: [JournalLineView] }) lines: JournalLineView[];
}

export class LedgerAccountView {
  @ApiProperty() id: string;
  @ApiProperty({ enum: ACCOUNT_TYPES }) type: LedgerAccountType;
  @ApiPropertyOptional({ nullable: true }) ownerId: string | null;
  @ApiProperty() currency: string;
  @ApiProperty({ type: 'integer', description: 'sum of the lines in minor units, debit positive (liabilities are negative)' }) balance: number;
  @ApiProperty() createdAt: string;

  static from(a: LedgerAccount): LedgerAccountView {
    return { id: a.id, type: a.type, ownerId: a.ownerId, currency: a.currency, balance: a.balance, createdAt: a.createdAt.toISOString() };
  }
}

export class AffiliateBalanceView {
  @ApiProperty() currency: string;
  @ApiProperty({ type: 'integer', description: 'earned, still in the lock period' }) pending: number;
  @ApiProperty({ type: 'integer', description: 'approved, to be paid by the next payout' }) available: number;
  @ApiProperty({ type: 'integer', description: 'sent by payouts, net of failed ones' }) paid: number;
  @ApiProperty({ type: 'integer', description: 'reversed after payment: owed back, netted off the next payout' }) clawback: number;
}

export class BonusEarningsView {
  @ApiProperty() currency: string;
  @ApiProperty({ type: 'integer', description: 'bonuses earned (part of the balances above)' }) earned: number;
  @ApiProperty({ type: 'integer', description: 'bonuses clawed back when reversals took the affiliate back under a threshold' }) clawedBack: number;
}

export class EarningsView {
  @ApiProperty() affiliateId: string;
  @ApiProperty({ type: [AffiliateBalanceView] }) balances: AffiliateBalanceView[];
  @ApiProperty({ type: [BonusEarningsView], description: 'bonuses per currency, ever' }) bonuses: BonusEarningsView[];
}
