import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import Stripe from 'stripe';
import { DataSource, EntityManager } from 'typeorm';
import { OutboxService } from '../../queue/outbox/outbox.service';
import { StripeEventRecord } from './stripe-event.entity';

/**
 * What a handler did (a short outcome), or that the event concerns an object we do not know yet
 * (a transfer whose payout has not recorded it): such an event is kept unprocessed and applied
 * again when the object appears (`reapply`).
 */
export type StripeEventOutcome = string | { deferred: string };
export type StripeEventHandler = (manager: EntityManager, event: Stripe.Event) => Promise<StripeEventOutcome>;

/**
 * The Stripe events we act on and the feature that handles each: those about payouts (transfers,
 * connected accounts) go to payouts, through its Stripe payout rail; those about invoices to
 * billing. Any other event is stored and marked ignored.
 */
export const STRIPE_EVENT_OWNERS = {
  'transfer.reversed': 'payouts',
  'account.updated': 'payouts',
  'invoice.paid': 'billing',
  'invoice.voided': 'billing',
  'invoice.marked_uncollectible': 'billing',
} as const;
export type StripeEventType = keyof typeof STRIPE_EVENT_OWNERS;
export type StripeEventOwner = (typeof STRIPE_EVENT_OWNERS)[StripeEventType];

/**
 * Receives verified events (stored once by id, handed to a job through the outbox) and applies
 * them in the worker through the handlers features register per event type.
 */
@Injectable()
export class StripeEventsService {
  private readonly logger = new Logger(StripeEventsService.name);
  private readonly handlers = new Map<string, StripeEventHandler>();

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly outbox: OutboxService,
  ) {}

  /** Registers the handler of an event type; only the feature `STRIPE_EVENT_OWNERS` names may, and only once. */
  on(owner: StripeEventOwner, type: StripeEventType, handler: StripeEventHandler): void {
    if (STRIPE_EVENT_OWNERS[type] !== owner) throw new Error(`Stripe event ${type} is handled by ${STRIPE_EVENT_OWNERS[type]}, not ${owner}`);
    if (this.handlers.has(type)) throw new Error(`two handlers for Stripe event ${type}`);
    this.handlers.set(type, handler);
  }

  /** The event types with a handler (each owner's handlers register when the app starts). */
  registered(): string[] {
    return [...this.handlers.keys()].sort();
  }

  /** Stores the event and queues its application; a replay changes nothing. Returns whether it was new. */
  async receive(event: Stripe.Event): Promise<boolean> {
    const isNew = await this.dataSource.transaction(async (manager) => {
      const inserted = await manager
        .createQueryBuilder()
        .insert()
        .into(StripeEventRecord)
        .values({ id: event.id, type: event.type, payload: event as never, stripeCreatedAt: new Date(event.created * 1000) })
        .orIgnore()
        .returning(['id'])
        .execute();
      if (!inserted.raw.length) return false;
      await this.outbox.enqueue(manager, 'stripe.event', event.id);
      return true;
    });
    if (isNew) this.outbox.notify();
    return isNew;
  }

  /**
   * Queues again, in the caller's transaction, every event still unprocessed whose object is
   * `objectId` or carries `metadata[key] = value`: called when such an object becomes known.
   * `cause` makes the job id new (the first job of the event may still be kept by the queue).
   */
  async reapply(manager: EntityManager, match: { objectId?: string; metadata?: [string, string] }, cause: string): Promise<number> {
    const rows: { id: string }[] = await manager.query(
      `SELECT id FROM stripe_events
        WHERE processed_at IS NULL
          AND (payload->'data'->'object'->>'id' = $1 OR payload->'data'->'object'->'metadata'->>$2 = $3)`,
      [match.objectId ?? null, match.metadata?.[0] ?? null, match.metadata?.[1] ?? null],
    );
    for (const { id } of rows) await this.outbox.enqueue(manager, 'stripe.event', id, { retry: cause });
    return rows.length;
  }

  /** The job: applies one stored event exactly once (the row lock and processed_at guard it). */
  async apply(eventId: string): Promise<void> {
    await this.dataSource.transaction(async (manager) => {
      const record = await manager.findOne(StripeEventRecord, { where: { id: eventId }, lock: { mode: 'pessimistic_write' } });
      if (!record || record.processedAt) return;
      const event = record.payload as unknown as Stripe.Event;
      const handler = this.handlers.get(event.type);
      const outcome = handler ? await handler(manager, event) : 'ignored';
      if (typeof outcome !== 'string') {
        await manager.update(StripeEventRecord, { id: eventId }, { outcome: `deferred: ${outcome.deferred}`.slice(0, 500) });
        this.logger.warn(`stripe event ${event.id} ${event.type} kept for later: ${outcome.deferred}`);
        return;
      }
      await manager.update(StripeEventRecord, { id: eventId }, { processedAt: new Date(), outcome });
      this.logger.log(`stripe event ${event.id} ${event.type}: ${outcome}`);
    });
  }
}
