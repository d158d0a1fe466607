import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { OutboxMessage } from './outbox.entity';
import { OutboxTopic } from './outbox.topics';

@Injectable()
export class OutboxService {
  private readonly listeners = new Set<() => void>();

  /** Records work to do, inside the caller's transaction: it happens if and only if the change commits. */
  async enqueue(manager: EntityManager, topic: OutboxTopic, aggregateId: string, payload: Record<string, unknown> = {}): Promise<void> {
    await manager.insert(OutboxMessage, { topic, aggregateId, payload: payload as never });
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
