import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { CreatedAtColumn, MoneyColumn } from '../../database/columns';

export const AFFILIATE_ACCOUNT_TYPES = ['affiliate_pending', 'affiliate_available', 'affiliate_clawback'] as const;
/** A prepaid advertiser's funds: what it may still spend, and the revenue of its recorded conversions set aside. */
export const FUNDING_ACCOUNT_TYPES = ['advertiser_funds', 'advertiser_reserved'] as const;
export const OWNED_ACCOUNT_TYPES = [...AFFILIATE_ACCOUNT_TYPES, 'advertiser_receivable', ...FUNDING_ACCOUNT_TYPES] as const;
/** network_adjustments: the other side of finance's manual adjustments to an affiliate's balance; funding_clearing: prepaid top-ups received. */
export const NETWORK_ACCOUNT_TYPES = ['network_margin', 'stripe_clearing', 'network_adjustments', 'funding_clearing'] as const;
export const ACCOUNT_TYPES = [...OWNED_ACCOUNT_TYPES, ...NETWORK_ACCOUNT_TYPES] as const;
export type LedgerAccountType = (typeof ACCOUNT_TYPES)[number];

/** Which role owns each kind of owned account (the network's own accounts have no owner). */
export const ACCOUNT_OWNER_ROLE: Readonly<Record<(typeof OWNED_ACCOUNT_TYPES)[number], 'affiliate' | 'advertiser'>> = {
  affiliate_pending: 'affiliate',
  affiliate_available: 'affiliate',
  affiliate_clawback: 'affiliate',
  advertiser_receivable: 'advertiser',
  advertiser_funds: 'advertiser',
  advertiser_reserved: 'advertiser',
};

export function isOwnedLedgerAccountType(type: LedgerAccountType): boolean {
  return (OWNED_ACCOUNT_TYPES as readonly string[]).includes(type);
}

/**
 * One account per (type, owner, currency), created on first use. `balance` is a cache of the
 * sum of its lines (debit positive), moved in the transaction that writes each line and checked
 * against the lines by `npm run ledger:verify`.
 */
@Entity('ledger_accounts')
export class LedgerAccount {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'text' })
  type: LedgerAccountType;

  @Column({ type: 'uuid', nullable: true })
  ownerId: string | null;

  @Column({ type: 'char', length: 3 })
  currency: string;

  @MoneyColumn({ default: 0 })
  balance: number;

  @CreatedAtColumn()
  createdAt: Date;
}
