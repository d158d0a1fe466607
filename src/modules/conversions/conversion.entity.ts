import { Column, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import { CreatedAtColumn, MoneyColumn } from '../../database/columns';
import type { RiskReason } from '../../common/risk/risk';
import type { RateRule } from '../rules';

export const CONVERSION_STATUSES = ['pending', 'approved', 'paid', 'rejected', 'reversed', 'unattributed'] as const;
export type ConversionStatus = (typeof CONVERSION_STATUSES)[number];
export const ACCEPTED_STATUSES: readonly ConversionStatus[] = ['pending', 'approved', 'paid'];
export type ConversionSource = 'postback' | 'pixel' | 'api';
/** review: a person decides (traffic quality); awaiting_funds: a prepaid advertiser's funds do not cover it yet. */
export const CONVERSION_HOLDS = ['review', 'awaiting_funds'] as const;
export type ConversionHold = (typeof CONVERSION_HOLDS)[number];

@Entity('conversions')
export class Conversion {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'uuid' })
  advertiserId: string;

  @Column({ type: 'uuid', nullable: true })
  offerId: string | null;

  @Column({ type: 'uuid', nullable: true })
  goalId: string | null;

  @Column({ type: 'text' })
  goalKey: string;

  @Column({ type: 'uuid', nullable: true })
  affiliateId: string | null;

  @Column({ type: 'uuid', nullable: true })
  linkId: string | null;

  @Column({ type: 'text', nullable: true })
  clickId: string | null;

  @Column({ type: 'timestamptz', nullable: true })
  clickedAt: Date | null;

  @Column({ type: 'uuid', nullable: true })
  couponId: string | null;

  @Column({ type: 'text', nullable: true })
  couponCode: string | null;

  @Column({ type: 'text', nullable: true })
  attributedBy: 'click' | 'coupon' | 'customer' | null;

  /** The advertiser's id of the paying customer (postback customer_id, API customerId), up to 200 characters. */
  @Column({ type: 'text', nullable: true })
  customerId: string | null;

  @Column({ type: 'text' })
  txnId: string;

  @MoneyColumn({ nullable: true })
  saleAmount: number | null;

  @Column({ type: 'char', length: 3, nullable: true })
  currency: string | null;

  /** What the advertiser pays for this result, in minor units. */
  @MoneyColumn({ default: 0 })
  revenue: number;

  /** What the affiliate earns for it, in minor units. */
  @MoneyColumn({ default: 0 })
  payout: number;

  @Column({ type: 'jsonb', nullable: true })
  revenueRule: RateRule | null;

  @Column({ type: 'jsonb', nullable: true })
  payoutRule: RateRule | null;

  /** How each amount was rounded from its rule: 'none' or 'half_up', once, here. */
  @Column({ type: 'jsonb', default: {} })
  rounding: { revenue?: 'none' | 'half_up'; payout?: 'none' | 'half_up' };

  @Column({ type: 'text' })
  status: ConversionStatus;

  @Column({ type: 'text', nullable: true })
  reason: string | null;

  @Column({ type: 'text', nullable: true })
  reasonDetail: string | null;

  @Column({ type: 'text' })
  source: ConversionSource;

  @Column({ type: 'inet', nullable: true })
  ip: string | null;

  @Column({ type: 'text', nullable: true })
  userAgent: string | null;

  /** When it happened as the advertiser reported it (conversion_time / occurredAt); null: when it was received (createdAt). */
  @Column({ type: 'timestamptz', nullable: true })
  occurredAt: Date | null;

  @Column({ type: 'timestamptz', nullable: true })
  approveAfter: Date | null;

  /** Why a pending conversion waits for more than its lock period; the lock-period job never approves a held one. */
  @Column({ type: 'text', nullable: true })
  hold: ConversionHold | null;

  @Column({ type: 'timestamptz', nullable: true })
  approvedAt: Date | null;

  /** Recorded for a prepaid advertiser: its revenue is reserved from, and spent out of, the advertiser's funds; never invoiced. */
  @Column({ type: 'boolean', default: false })
  prepaid: boolean;

  /** 0–100 (README, "Traffic quality"): decided at intake, completed by the quality job; null when never scored (unattributed). */
  @Column({ type: 'smallint', nullable: true })
  riskScore: number | null;

  @Column({ type: 'jsonb', nullable: true })
  riskReasons: RiskReason[] | null;

  /** When the quality job completed the score; null while it waits. */
  @Column({ type: 'timestamptz', nullable: true })
  riskCheckedAt: Date | null;

  /** The payout that paid it (status paid). */
  @Column({ type: 'uuid', nullable: true })
  payoutId: string | null;

  /** The advertiser invoice that billed it. */
  @Column({ type: 'uuid', nullable: true })
  invoiceId: string | null;

  @CreatedAtColumn()
  createdAt: Date;

  @UpdateDateColumn({ type: 'timestamptz' })
  updatedAt: Date;
}
