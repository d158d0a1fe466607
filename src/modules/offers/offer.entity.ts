import { Column, Entity, OneToMany, PrimaryGeneratedColumn, Relation, UpdateDateColumn } from 'typeorm';
import { CreatedAtColumn } from '../../database/columns';
import type { QualityPolicy } from '../../common/risk/risk';
import { OfferGoal } from './offer-goal.entity';

export const OFFER_STATUSES = ['active', 'paused', 'archived'] as const;
export type OfferStatus = (typeof OFFER_STATUSES)[number];
export const OFFER_VISIBILITIES = ['public', 'approval_required', 'private'] as const;
export type OfferVisibility = (typeof OFFER_VISIBILITIES)[number];
export const ATTRIBUTION_PRIORITIES = ['coupon_first', 'click_first'] as const;
export type AttributionPriority = (typeof ATTRIBUTION_PRIORITIES)[number];

/** Conversion caps; absent means no cap. Revenue budget in the offer's minor units. */
export interface OfferCaps {
  dailyConversions?: number;
  monthlyConversions?: number;
  totalConversions?: number;
  affiliateDailyConversions?: number;
  affiliateMonthlyConversions?: number;
  affiliateTotalConversions?: number;
  revenueBudget?: number;
}

@Entity('offers')
export class Offer {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'uuid' })
  advertiserId: string;

  @Column({ type: 'text' })
  name: string;

  @Column({ type: 'text', nullable: true })
  description: string | null;

  @Column({ type: 'text' })
  landingUrl: string;

  @Column({ type: 'text', nullable: true })
  fallbackUrl: string | null;

  @Column({ type: 'char', length: 3 })
  currency: string;

  @Column({ type: 'text', default: 'active' })
  status: OfferStatus;

  /** Why a paused offer is paused, when the system paused it: `funds` (its prepaid advertiser ran out; a top-up resumes it). */
  @Column({ type: 'text', nullable: true })
  pausedReason: 'funds' | null;

  @Column({ type: 'text', default: 'public' })
  visibility: OfferVisibility;

  @Column({ type: 'int', default: 30 })
  attributionWindowDays: number;

  @Column({ type: 'int', default: 30 })
  lockPeriodDays: number;

  @Column({ type: 'text', default: 'coupon_first' })
  attributionPriority: AttributionPriority;

  @Column({ type: 'int', default: 0 })
  minClickToConversionSeconds: number;

  @Column({ type: 'jsonb', default: {} })
  caps: OfferCaps;

  /** IANA zone whose calendar days and months the caps count. */
  @Column({ type: 'text', default: 'UTC' })
  timezone: string;

  /** Whether a conversion pixel's amount counts; off, a pixel's amount is ignored (anyone can fire a pixel). */
  @Column({ type: 'boolean', default: false })
  pixelAmounts: boolean;

  /** Traffic quality policy (README, "Traffic quality"): hold for review at or above `holdAbove`, reject at or above `rejectAbove`. */
  @Column({ type: 'jsonb', default: () => `'{"holdAbove": 60, "rejectAbove": null}'` })
  quality: QualityPolicy;

  @OneToMany(() => OfferGoal, (goal) => goal.offer, { cascade: false })
  goals: Relation<OfferGoal>[];

  @CreatedAtColumn()
  createdAt: Date;

  @UpdateDateColumn({ type: 'timestamptz' })
  updatedAt: Date;
}
