import { JobName, JOBS, QueueName, QUEUES } from '../queues';

export interface OutboxRoute {
  queue: QueueName;
  job: JobName;
  /** BullMQ refuses a second job with the same id: the relay can hand a message over twice safely. */
  jobId: (aggregateId: string, payload: Record<string, unknown>) => string;
}

/** Where each outbox topic goes. Job ids may not contain ':' (BullMQ), hence '-'. */
export const OUTBOX_ROUTES = {
  'conversion.recorded': { queue: QUEUES.commissions, job: JOBS.postCommission, jobId: (id: string) => `commission-${id}` },
  'conversion.status_changed': {
    queue: QUEUES.commissions,
    job: JOBS.applyStatusChange,
    jobId: (id: string, p: Record<string, unknown>) => `status-${id}-${p.eventId}`,
  },
  'stripe.event': { queue: QUEUES.billing, job: JOBS.stripeEvent, jobId: (id: string) => `stripe-event-${id}` },
  'payout_run.requested': { queue: QUEUES.payouts, job: JOBS.payoutRun, jobId: (id: string) => `payout-run-${id}` },
  'invoice_run.requested': { queue: QUEUES.billing, job: JOBS.invoiceRun, jobId: (id: string) => `invoice-run-${id}` },
  'postback.send': { queue: QUEUES.postbacks, job: JOBS.sendPostback, jobId: (id: string, p: Record<string, unknown>) => `postback-${id}-${p.eventId}` },
} satisfies Record<string, OutboxRoute>;

export type OutboxTopic = keyof typeof OUTBOX_ROUTES;
