import { Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { JobName, QueueName } from '../queues';

/** One job per message. */
export interface OutboxJobRoute {
  queue: QueueName;
  job: JobName;
  /** BullMQ refuses a second job with the same id: the relay can hand a message over twice safely. */
  jobId: (aggregateId: string, payload: Record<string, unknown>) => string;
}

/** One job (`{ids, outboxIds}`) for up to `max` messages of a relay pass, to be handled together. */
export interface OutboxBatchRoute {
  queue: QueueName;
  job: JobName;
  batch: { max: number; jobId: (outboxIds: string[]) => string };
}

export type OutboxRoute = OutboxJobRoute | OutboxBatchRoute;

export const isBatchRoute = (route: OutboxRoute): route is OutboxBatchRoute => 'batch' in route;

/**
 * The topics, each declared by the feature that consumes it, which adds it to this interface
 * (`declare module`) and registers its route with `OutboxModule.forFeature`. Producers name a
 * topic by its key, so a typo does not compile.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface OutboxTopics {}
export type OutboxTopic = keyof OutboxTopics & string;

/**
 * The id of a batch is a digest of its messages, so handing the same messages over again is
 * refused, and a batch made of other messages never is.
 */
export const batchJobId = (prefix: string) => (outboxIds: string[]) => `${prefix}-${outboxIds[0]}-${createHash('sha256').update(outboxIds.join(',')).digest('hex').slice(0, 32)}`;

/** Where each outbox topic goes, as the consuming features registered it. Job ids may not contain ':' (BullMQ), hence '-'. */
@Injectable()
export class OutboxRoutes {
  private readonly routes = new Map<string, OutboxRoute>();

  register(routes: Record<string, OutboxRoute>): void {
    for (const [topic, route] of Object.entries(routes)) {
      if (this.routes.has(topic)) throw new Error(`outbox topic ${topic} is routed twice`);
      this.routes.set(topic, route);
    }
  }

  /** The route of a topic; undefined for a topic no feature consumes (the relay parks its messages). */
  get(topic: string): OutboxRoute | undefined {
    return this.routes.get(topic);
  }

  all(): [string, OutboxRoute][] {
    return [...this.routes];
  }
}
