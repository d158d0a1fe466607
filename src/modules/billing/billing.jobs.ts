import { Injectable } from '@nestjs/common';
import { Job } from 'bullmq';
import { StripeEventsService } from '../../integrations/stripe/stripe-events.service';
import { OnJob, OnJobFailed } from '../../queue/on-job';
import { JOBS, QUEUES } from '../../queue/queues';
import { BillingService } from './billing.service';
import { InvoiceSettlementService } from './invoice-settlement.service';

declare module '../../queue/outbox/outbox.topics' {
  interface OutboxTopics {
    'stripe.event': true;
    'invoice_run.requested': true;
    'invoice.result_reversed': true;
    /** A bonus clawed back after an invoice billed it; aggregate id: the award. */
    'invoice.bonus_clawed_back': true;
  }
}

export const BILLING_ROUTES = {
  // A re-application of a kept event (payload.retry) is a job of its own.
  'stripe.event': { queue: QUEUES.billing, job: JOBS.stripeEvent, jobId: (id: string, p: Record<string, unknown>) => `stripe-event-${id}${p.retry ? `-${String(p.retry)}` : ''}` },
  'invoice_run.requested': { queue: QUEUES.billing, job: JOBS.invoiceRun, jobId: (id: string) => `invoice-run-${id}` },
  'invoice.result_reversed': { queue: QUEUES.billing, job: JOBS.creditReversal, jobId: (id: string) => `credit-reversal-${id}` },
  'invoice.bonus_clawed_back': { queue: QUEUES.billing, job: JOBS.creditBonusClawback, jobId: (id: string) => `credit-bonus-clawback-${id}` },
};

/** Stripe events (every feature's handlers), invoice runs and the credit notes of reversed results and clawed-back bonuses. */
@Injectable()
export class BillingJobs {
  constructor(
    private readonly billing: BillingService,
    private readonly events: StripeEventsService,
    private readonly settlement: InvoiceSettlementService,
  ) {}

  @OnJob({ queue: QUEUES.billing, name: JOBS.stripeEvent })
  stripeEvent(job: Job<{ id: string }>): Promise<unknown> {
    return this.events.apply(job.data.id);
  }

  @OnJob({ queue: QUEUES.billing, name: JOBS.creditReversal })
  creditReversal(job: Job<{ id: string }>): Promise<unknown> {
    return this.settlement.creditReversal(job.data.id);
  }

  @OnJob({ queue: QUEUES.billing, name: JOBS.creditBonusClawback })
  creditBonusClawback(job: Job<{ id: string }>): Promise<unknown> {
    return this.settlement.creditBonusClawback(job.data.id);
  }

  @OnJob({ queue: QUEUES.billing, name: JOBS.invoiceRun })
  invoiceRun(job: Job<{ id: string }>): Promise<unknown> {
    return this.billing.execute(job.data.id, (progress) => job.updateProgress({ ...progress }));
  }

  @OnJobFailed({ queue: QUEUES.billing, name: JOBS.invoiceRun })
  async invoiceRunFailed(job: Job<{ id: string }>, error: Error): Promise<void> {
    await this.billing.markFailed(job.data.id, error.message);
  }
}
