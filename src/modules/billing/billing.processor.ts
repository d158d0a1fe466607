import { OnWorkerEvent, Processor, WorkerHost } from '@nestjs/bullmq';
import { Job } from 'bullmq';
import { StripeEventsService } from '../../integrations/stripe/stripe-events.service';
import { JobHandlers } from '../../queue/job-handlers';
import { JOBS, QUEUES, RESUMABLE_WORKER_OPTIONS } from '../../queue/queues';
import { BillingService } from './billing.service';
import { InvoiceSettlementService } from './invoice-settlement.service';

/** Stripe events (every feature's handlers), invoice runs and the credit notes of reversed results. */
@Processor(QUEUES.billing, { concurrency: 4, ...RESUMABLE_WORKER_OPTIONS })
export class BillingProcessor extends WorkerHost {
  constructor(
    private readonly handlers: JobHandlers,
    private readonly billing: BillingService,
    events: StripeEventsService,
    settlement: InvoiceSettlementService,
  ) {
    super();
    handlers.register(QUEUES.billing, JOBS.stripeEvent, (job: Job<{ id: string }>) => events.apply(job.data.id));
    handlers.register(QUEUES.billing, JOBS.creditReversal, (job: Job<{ id: string }>) => settlement.creditReversal(job.data.id));
    handlers.register(QUEUES.billing, JOBS.invoiceRun, (job: Job<{ id: string }>) => billing.execute(job.data.id, (progress) => job.updateProgress({ ...progress })));
  }

  process(job: Job): Promise<unknown> {
    return this.handlers.dispatch(QUEUES.billing, job);
  }

  @OnWorkerEvent('failed')
  async onFailed(job: Job<{ id: string }> | undefined, error: Error): Promise<void> {
    if (job?.name === JOBS.invoiceRun && (await job.isFailed())) await this.billing.markFailed(job.data.id, error.message);
  }
}
