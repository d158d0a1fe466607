import { Column, Entity, PrimaryColumn, PrimaryGeneratedColumn } from 'typeorm';
import { CreatedAtColumn, MoneyColumn } from '../../database/columns';

export const FUNDING_STATUSES = ['pending', 'posted'] as const;
export type FundingStatus = (typeof FUNDING_STATUSES)[number];
export const FUNDING_VIA = ['recorded', 'stripe_invoice'] as const;
export type FundingVia = (typeof FUNDING_VIA)[number];

/**
 * A prepaid advertiser's top-up, as finance recorded it (posted at once) or billed through a
 * Stripe invoice (pending until Stripe reports it paid); once posted its money is in the ledger
 * (kind `funding`).
 */
@Entity('advertiser_fundings')
export class AdvertiserFunding {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'uuid' })
  advertiserId: string;

  @MoneyColumn()
  amount: number;

  @Column({ type: 'char', length: 3 })
  currency: string;

  @Column({ type: 'text' })
  reference: string;

  @Column({ type: 'uuid', nullable: true })
  createdBy: string | null;

  @Column({ type: 'text', default: 'posted' })
  status: FundingStatus;

  @Column({ type: 'text', nullable: true })
  stripeInvoiceId: string | null;

  @Column({ type: 'text', nullable: true })
  hostedInvoiceUrl: string | null;

  @Column({ type: 'timestamptz', nullable: true })
  postedAt: Date | null;

  @CreatedAtColumn()
  createdAt: Date;
}

/** A low-balance alert sent for (advertiser, currency), kept until the funds recover, so it goes out once per fall. */
@Entity('funding_alerts')
export class FundingAlert {
  @PrimaryColumn({ type: 'uuid' })
  advertiserId: string;

  @PrimaryColumn({ type: 'char', length: 3 })
  currency: string;

  @MoneyColumn()
  available: number;

  @CreatedAtColumn()
  createdAt: Date;
}
