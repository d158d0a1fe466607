import { Column, Entity, JoinColumn, ManyToOne, PrimaryColumn, Relation } from 'typeorm';
import type { RateRule } from '../rules';
import { OfferGoal } from './offer-goal.entity';

@Entity('goal_payout_overrides')
export class GoalPayoutOverride {
  @PrimaryColumn({ type: 'uuid' })
  goalId: string;

  @PrimaryColumn({ type: 'uuid' })
  affiliateId: string;

  @ManyToOne(() => OfferGoal, (goal) => goal.overrides)
  @JoinColumn({ name: 'goal_id' })
  goal: Relation<OfferGoal>;

  @Column({ type: 'jsonb' })
  payout: RateRule;
}
