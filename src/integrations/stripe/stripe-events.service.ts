import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import Stripe from 'stripe';
import { DataSource, EntityManager } from 'typeorm';
import { OutboxService } from '../../queue/outbox/outbox.service';
import { StripeEventRecord } from './stripe-event.entity';

export type StripeEventHandler = (manager: EntityManager, event: Stripe.Event) => Promise<string>;

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

  on(type: string, handler: StripeEventHandler): void {
    if (this.handlers.has(type)) throw new Error(`two handlers for Stripe event ${type}`);
    this.handlers.set(type, handler);
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

  /** The job: applies one stored event exactly once (the row lock and processed_at guard it). */
  async apply(eventId: string): Promise<void> {
    await this.dataSource.transaction(async (manager) => {
      const record = await manager.findOne(StripeEventRecord, { where: { id: eventId }, lock: { mode: 'pessimistic_write' } });
      if (!record || record.processedAt) return;
      const event = record.payload as unknown as Stripe.Event;
      const handler = this.handlers.get(event.type);
      const outcome = handler ? await handler(manager, event) : 'ignored';
      await manager.update(StripeEventRecord, { id: eventId }, { processedAt: new Date(), outcome });
      this.logger.log(`stripe event ${event.id} ${event.type}: ${outcome}`);
    });
  }
}
