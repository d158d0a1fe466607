import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { CreatedAtColumn, MoneyColumn } from '../../database/columns';

export const BONUS_METRICS = ['conversions', 'saleAmount'] as const;
export type BonusMetric = (typeof BONUS_METRICS)[number];
export const BONUS_PERIODS = ['month', 'all_time'] as const;
export type BonusPeriod = (typeof BONUS_PERIODS)[number];
export const AWARD_STATUSES = ['earned', 'clawed_back'] as const;
export type AwardStatus = (typeof AWARD_STATUSES)[number];

/**
 * A bonus program of an offer: `amount` once per affiliate and period when its approved
 * conversions (or their sale amount) on the offer, of `goalKey` or any goal, reach `threshold`.
 */
@Entity('bonuses')
export class Bonus {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'uuid' })
  offerId: string;

  @Column({ type: 'uuid' })
  advertiserId: string;

  @Column({ type: 'text' })
  name: string;

  @Column({ type: 'text', nullable: true })
  goalKey: string | null;

  @Column({ type: 'text' })
  metric: BonusMetric;

  @MoneyColumn()
  threshold: number;

  @Column({ type: 'text' })
  period: BonusPeriod;

  @MoneyColumn()
  amount: number;

  @Column({ type: 'char', length: 3 })
  currency: string;

  @Column({ type: 'uuid', nullable: true })
  createdBy: string | null;

  @CreatedAtColumn()
  createdAt: Date;
}

/** A bonus one affiliate earned for one period (`YYYY-MM` in the offer's time zone, or `all_time`). */
@Entity('bonus_awards')
export class BonusAward {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'uuid' })
  bonusId: string;

  @Column({ type: 'uuid' })
  affiliateId: string;

  @Column({ type: 'uuid' })
  advertiserId: string;

  @Column({ type: 'uuid' })
  offerId: string;

  @Column({ type: 'text' })
  period: string;

  @MoneyColumn()
  amount: number;

  @Column({ type: 'char', length: 3 })
  currency: string;

  @Column({ type: 'text' })
  status: AwardStatus;

  @Column({ type: 'uuid', nullable: true })
  invoiceId: string | null;

  /** When it was earned. */
  @CreatedAtColumn()
  createdAt: Date;

  @Column({ type: 'timestamptz', nullable: true })
  clawedBackAt: Date | null;
}
