import { createHash } from 'node:crypto';
import { JobName, JOBS, QueueName, QUEUES } from '../queues';

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
 * The id of a batch is a digest of its messages, so handing the same messages over again is
 * refused, and a batch made of other messages never is.
 */
const batchJobId = (prefix: string) => (outboxIds: string[]) =>
  `${prefix}-${outboxIds[0]}-${createHash('sha256').update(outboxIds.join(',')).digest('hex').slice(0, 32)}`;

/** Every conversion message converges on one reconcile of the conversion: they batch together. */
const COMMISSIONS_BATCH: OutboxBatchRoute = { queue: QUEUES.commissions, job: JOBS.postCommissions, batch: { max: 500, jobId: batchJobId('commissions') } };

/** Where each outbox topic goes. Job ids may not contain ':' (BullMQ), hence '-'. */
export const OUTBOX_ROUTES = {
  'conversion.recorded': COMMISSIONS_BATCH,
  'conversion.status_changed': COMMISSIONS_BATCH,
  // A re-application of a kept event (payload.retry) is a job of its own.
  'stripe.event': { queue: QUEUES.billing, job: JOBS.stripeEvent, jobId: (id: string, p: Record<string, unknown>) => `stripe-event-${id}${p.retry ? `-${String(p.retry)}` : ''}` },
  'payout_run.requested': { queue: QUEUES.payouts, job: JOBS.payoutRun, jobId: (id: string) => `payout-run-${id}` },
  'invoice_run.requested': { queue: QUEUES.billing, job: JOBS.invoiceRun, jobId: (id: string) => `invoice-run-${id}` },
  'invoice.result_reversed': { queue: QUEUES.billing, job: JOBS.creditReversal, jobId: (id: string) => `credit-reversal-${id}` },
  'postback.send': { queue: QUEUES.postbacks, job: JOBS.sendPostback, jobId: (id: string, p: Record<string, unknown>) => `postback-${id}-${p.eventId}` },
} satisfies Record<string, OutboxRoute>;

export type OutboxTopic = keyof typeof OUTBOX_ROUTES;
