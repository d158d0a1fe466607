import { Column, Entity, JoinColumn, ManyToOne, OneToMany, PrimaryGeneratedColumn, Relation } from 'typeorm';
import { CreatedAtColumn } from '../../database/columns';
import type { RateRule } from '../rules';
import { Offer } from './offer.entity';
import { GoalPayoutOverride } from './goal-payout-override.entity';

export interface GoalRecurrence {
  months: number | null;
}

/** One result an advertiser pays for (lead, sale, signup…): what it pays and what the affiliate earns. */
@Entity('offer_goals')
export class OfferGoal {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'uuid' })
  offerId: string;

  @ManyToOne(() => Offer, (offer) => offer.goals)
  @JoinColumn({ name: 'offer_id' })
  offer: Relation<Offer>;

  @Column({ type: 'text' })
  key: string;

  @Column({ type: 'text', nullable: true })
  name: string | null;

  /** What the advertiser pays the network per result. */
  @Column({ type: 'jsonb' })
  revenue: RateRule;

  /** What the affiliate earns per result, unless overridden for that affiliate. */
  @Column({ type: 'jsonb' })
  payout: RateRule;

  /** Later conversions of the same customer earn again, for `months` after the first (null: for life); null: not recurring. */
  @Column({ type: 'jsonb', nullable: true })
  recurring: GoalRecurrence | null;

  @OneToMany(() => GoalPayoutOverride, (o) => o.goal)
  overrides: Relation<GoalPayoutOverride>[];

  /** Goals leave an offer by archiving: conversions keep pointing at them. */
  @Column({ type: 'timestamptz', nullable: true })
  archivedAt: Date | null;

  @CreatedAtColumn()
  createdAt: Date;
}
