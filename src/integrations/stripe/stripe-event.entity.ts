import { Column, Entity, PrimaryColumn } from 'typeorm';

/** Every Stripe event received, kept once by its id: replays are recognised and ignored. */
@Entity('stripe_events')
export class StripeEventRecord {
  @PrimaryColumn({ type: 'text' })
  id: string;

  @Column({ type: 'text' })
  type: string;

  @Column({ type: 'jsonb' })
  payload: Record<string, unknown>;

  @Column({ type: 'timestamptz' })
  stripeCreatedAt: Date;

  @Column({ type: 'timestamptz', default: () => 'now()' })
  receivedAt: Date;

  @Column({ type: 'timestamptz', nullable: true })
  processedAt: Date | null;

  @Column({ type: 'text', nullable: true })
  outcome: string | null;
}
