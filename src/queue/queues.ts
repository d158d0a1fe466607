import type { NestWorkerOptions } from '@nestjs/bullmq/dist/interfaces/worker-options.interface';
import type { DefaultJobOptions } from 'bullmq';

/** Every queue and job name in one place; processors and producers import from here. */
export const QUEUES = {
  outbox: 'outbox',
  commissions: 'commissions',
  /** Outgoing partner postbacks; the queue keeps its name in Redis. */
  partnerPostbacks: 'postbacks',
  payouts: 'payouts',
  billing: 'billing',
  maintenance: 'maintenance',
} as const;
export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];

export const DEFAULT_JOB_OPTIONS: DefaultJobOptions = {
  attempts: 8,
  backoff: { type: 'exponential', delay: 1000 },
  removeOnComplete: { age: 24 * 3600, count: 10_000 },
  removeOnFail: { age: 14 * 24 * 3600 },
};

/**
 * Worker options of the queues whose jobs resume where a killed worker left off (payout and
 * invoice runs). BullMQ fails a job for good after its second stall; a run must survive more crashes.
 */
export const RESUMABLE_WORKER_OPTIONS = { maxStalledCount: 100 } as const;

/**
 * The queues a worker process consumes, with their worker options. Commissions run many at once
 * (the jobs running together are posted in one transaction); maintenance one at a time.
 */
export const WORKER_OPTIONS: Partial<Record<QueueName, NestWorkerOptions>> = {
  commissions: { concurrency: 32 },
  maintenance: { concurrency: 1 },
  postbacks: { concurrency: 16 },
  payouts: { concurrency: 2, ...RESUMABLE_WORKER_OPTIONS },
  billing: { concurrency: 4, ...RESUMABLE_WORKER_OPTIONS },
};

/** Job names, per queue. */
export const JOBS = {
  /** Superseded by postCommissions; still handled, for jobs queued before the upgrade. */
  postCommission: 'post-commission',
  /** Superseded by postCommissions; still handled, for jobs queued before the upgrade. */
  applyStatusChange: 'apply-status-change',
  postCommissions: 'post-commissions',
  approveDue: 'approve-due',
  /** Repeatable: click floods over many batches and the completed risk scores of new conversions (traffic quality). */
  qualityCheck: 'quality-check',
  /** Repeatable: re-drives what was lost (missing ledger entries, exhausted jobs, stuck runs) and prunes the outbox. */
  sweep: 'sweep',
  /** Repeatable: removes what is kept only for a while (README, "Retention"). */
  retention: 'retention',
  sendPartnerPostback: 'send-postback',
  /** Turns an event into its webhook events and their deliveries (outgoing webhooks). */
  dispatchWebhook: 'dispatch-webhook',
  /** One call of one webhook endpoint with one event; a failure queues the next attempt. */
  sendWebhook: 'send-webhook',
  payoutRun: 'payout-run',
  invoiceRun: 'invoice-run',
  creditReversal: 'credit-reversal',
  creditBonusClawback: 'credit-bonus-clawback',
  stripeEvent: 'stripe-event',
  /** A prepaid advertiser's funds changed: cover what waits, pause or resume its offers, alert. */
  fundingCheck: 'funding-check',
} as const;
export type JobName = (typeof JOBS)[keyof typeof JOBS];
