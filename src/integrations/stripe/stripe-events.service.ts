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
const isOwned = (type: string): type is StripeEventType => Object.hasOwn(STRIPE_EVENT_OWNERS, type);
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
        .values({
          id: event.id,
          type: event.type,
          payload: event as never,
          stripeCreatedAt: new Date(event.created * 1000),
          // No feature acts on it (a transfer.created per payout, say): stored as applied, no job.
          ...(isOwned(event.type) ? {} : { processedAt: () => 'now()', outcome: 'ignored' }),
        })
        .orIgnore()
        .returning(['id'])
        .execute();
      if (!inserted.raw.length) return false;
      if (!isOwned(event.type)) return true;
      await this.outbox.enqueue(manager, 'stripe.event', event.id);
      return true;
    });
    if (isNew && isOwned(event.type)) this.outbox.notify();
    return isNew;
  }

  /**
   * Queues again, in the caller's transaction, every event still unprocessed whose object is one
   * of `matches`' `objectId`s or carries `metadata[key]` equal to its `value`: called when such
   * objects become known (one statement for them all). Each match's `cause` makes the job id new
   * (the first job of the event may still be kept by the queue). Answers how many were queued.
   */
  async reapply(manager: EntityManager, key: string, matches: { objectId: string; value: string; cause: string }[]): Promise<number> {
    if (!matches.length) return 0;
    const rows: { id: string; cause: string }[] = await manager.query(
      `SELECT DISTINCT ON (e.id) e.id, m.cause FROM stripe_events e
         JOIN unnest($1::text[], $2::text[], $3::text[]) AS m(object_id, value, cause)
           ON e.payload->'data'->'object'->>'id' = m.object_id OR e.payload->'data'->'object'->'metadata'->>$4 = m.value
        WHERE e.processed_at IS NULL
        ORDER BY e.id, m.cause`,
      [matches.map((m) => m.objectId), matches.map((m) => m.value), matches.map((m) => m.cause), key],
    );
    await this.outbox.enqueueMany(
      manager,
      rows.map(({ id, cause }) => ({ topic: 'stripe.event' as const, aggregateId: id, payload: { retry: cause } })),
    );
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
