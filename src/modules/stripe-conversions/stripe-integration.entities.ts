import { Column, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';
import { bigintToNumber, CreatedAtColumn } from '../../database/columns';

/** An advertiser's Stripe account connected for conversions: where its sales convert, and the secret its events are signed with. */
@Entity('stripe_integrations')
export class StripeIntegration {
  @PrimaryColumn({ type: 'uuid' })
  advertiserId: string;

  @Column({ type: 'uuid' })
  offerId: string;

  @Column({ type: 'text' })
  goalKey: string;

  /** The signing secret of the endpoint the advertiser registered in its Stripe account (`whsec_…`): needed in clear to verify. */
  @Column({ type: 'text' })
  webhookSecret: string;

  /** A restricted key of that account that may read promotion codes (Stripe's events name a promotion code by id only). */
  @Column({ type: 'text', nullable: true })
  apiKey: string | null;

  @CreatedAtColumn()
  createdAt: Date;

  @UpdateDateColumn({ type: 'timestamptz' })
  updatedAt: Date;
}

/** An event of an advertiser's Stripe account, applied once (the key is the advertiser and Stripe's event id). */
@Entity('stripe_integration_events')
export class StripeIntegrationEvent {
  @PrimaryColumn({ type: 'uuid' })
  advertiserId: string;

  @PrimaryColumn({ type: 'text' })
  eventId: string;

  @Column({ type: 'text' })
  type: string;

  @Column({ type: 'text' })
  outcome: string;

  @Column({ type: 'timestamptz', default: () => 'now()' })
  receivedAt: Date;
}

/** A payment (payment intent or invoice) that became a conversion: a refund of its charge finds the conversion here. */
@Entity('stripe_integration_payments')
export class StripeIntegrationPayment {
  @PrimaryColumn({ type: 'uuid' })
  advertiserId: string;

  @PrimaryColumn({ type: 'text' })
  ref: string;

  @Column({ type: 'uuid', nullable: true })
  conversionId: string | null;

  /** Another reference the conversion is remembered under (a subscription's first payment → its invoice, which the session converted). */
  @Column({ type: 'text', nullable: true })
  via: string | null;

  @CreatedAtColumn()
  createdAt: Date;
}

/** How much of a charge was refunded so far (ISO minor units), and how much commission that took off. */
@Entity('stripe_integration_refunds')
export class StripeIntegrationRefund {
  @PrimaryColumn({ type: 'uuid' })
  advertiserId: string;

  @PrimaryColumn({ type: 'text' })
  chargeId: string;

  @Column({ type: 'uuid' })
  conversionId: string;

  @Column({ type: 'bigint', transformer: bigintToNumber })
  refunded: number;

  @Column({ type: 'bigint', transformer: bigintToNumber })
  commissionReduced: number;

  @UpdateDateColumn({ type: 'timestamptz' })
  updatedAt: Date;
}

export const STRIPE_INTEGRATION_ENTITIES = [StripeIntegration, StripeIntegrationEvent, StripeIntegrationPayment, StripeIntegrationRefund];
