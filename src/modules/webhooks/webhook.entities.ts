import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { CreatedAtColumn } from '../../database/columns';

/** The event types an endpoint may subscribe to; each reaches only the principal it concerns. */
export const WEBHOOK_EVENT_TYPES = [
  'conversion.created',
  'conversion.approved',
  'conversion.rejected',
  'conversion.reversed',
  'payout.paid',
  'payout.failed',
  'funding.low',
  'invoice.issued',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** Which event types concern which role: an endpoint may only subscribe to its own. */
export const WEBHOOK_EVENTS_BY_ROLE: Record<'advertiser' | 'affiliate', readonly WebhookEventType[]> = {
  advertiser: ['conversion.created', 'conversion.approved', 'conversion.rejected', 'conversion.reversed', 'funding.low', 'invoice.issued'],
  affiliate: ['conversion.created', 'conversion.approved', 'conversion.rejected', 'conversion.reversed', 'payout.paid', 'payout.failed'],
};

/** An advertiser's or affiliate's URL for events; deleting it keeps the row (its deliveries stay readable) and stops its calls. */
@Entity('webhook_endpoints')
export class WebhookEndpoint {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'uuid' })
  principalId: string;

  @Column({ type: 'text' })
  url: string;

  @Column({ type: 'text', array: true })
  events: WebhookEventType[];

  /** The signing secret: kept in clear, since every call is signed with it (shown once, at creation). */
  @Column({ type: 'text' })
  secret: string;

  @CreatedAtColumn()
  createdAt: Date;

  @Column({ type: 'timestamptz', nullable: true })
  deletedAt: Date | null;
}

/** One event for one principal: its id is stable across retries, so receivers can deduplicate. */
@Entity('webhook_events')
export class WebhookEvent {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'uuid' })
  principalId: string;

  @Column({ type: 'text' })
  type: WebhookEventType;

  @Column({ type: 'jsonb' })
  data: Record<string, unknown>;

  /** What caused it (a conversion event, an outbox message): the same cause never makes a second event. */
  @Column({ type: 'text' })
  source: string;

  @CreatedAtColumn()
  createdAt: Date;
}

export const WEBHOOK_OUTCOMES = ['delivered', 'failed', 'gave_up', 'endpoint_deleted'] as const;
export type WebhookOutcome = (typeof WEBHOOK_OUTCOMES)[number];

/** One call of an endpoint (the delivery log): `failed` is retried, `gave_up` was the last try, `endpoint_deleted` called nothing. */
@Entity('webhook_deliveries')
export class WebhookDelivery {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'uuid' })
  endpointId: string;

  @Column({ type: 'uuid' })
  eventId: string;

  @Column({ type: 'int' })
  attempt: number;

  @Column({ type: 'int', nullable: true })
  statusCode: number | null;

  @Column({ type: 'int' })
  latencyMs: number;

  @Column({ type: 'text', nullable: true })
  error: string | null;

  @Column({ type: 'text' })
  outcome: WebhookOutcome;

  @CreatedAtColumn()
  createdAt: Date;
}

export const WEBHOOK_ENTITIES = [WebhookEndpoint, WebhookEvent, WebhookDelivery];
