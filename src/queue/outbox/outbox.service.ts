import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { outboxRepository } from './outbox.repository';
import { OutboxTopic } from './outbox.topics';

@Injectable()
export class OutboxService {
  private readonly listeners = new Set<() => void>();

  /** Records work to do, inside the caller's transaction: it happens if and only if the change commits. */
  async enqueue(manager: EntityManager, topic: OutboxTopic, aggregateId: string, payload: Record<string, unknown> = {}): Promise<void> {
    await outboxRepository.insert(manager, topic, aggregateId, payload);
  }

  /** Several at once (one statement), inside the caller's transaction, like `enqueue`. */
  async enqueueMany(manager: EntityManager, messages: { topic: OutboxTopic; aggregateId: string; payload?: Record<string, unknown> }[]): Promise<void> {
    if (messages.length) await outboxRepository.insertMany(manager, messages);
  }

  /** Tells the relay there is something new (after commit), so it need not wait for its next poll. */
  notify(): void {
    for (const listener of this.listeners) listener();
  }

  onNotify(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
