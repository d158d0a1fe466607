import { OnWorkerEvent, Processor, WorkerHost } from '@nestjs/bullmq';
import { Job } from 'bullmq';
import { JobHandlers } from '../../queue/job-handlers';
import { JOBS, QUEUES, RESUMABLE_WORKER_OPTIONS } from '../../queue/queues';
import { PayoutRunsService } from './payout-runs.service';

/** Payout runs: one job per run (fixed id), resumable; progress reported on the job and the run. */
@Processor(QUEUES.payouts, { concurrency: 2, ...RESUMABLE_WORKER_OPTIONS })
export class PayoutsProcessor extends WorkerHost {
  constructor(
    private readonly handlers: JobHandlers,
    private readonly runs: PayoutRunsService,
  ) {
    super();
    handlers.register(QUEUES.payouts, JOBS.payoutRun, (job: Job<{ id: string }>) => runs.execute(job.data.id, (progress) => job.updateProgress({ ...progress })));
  }

  process(job: Job): Promise<unknown> {
    return this.handlers.dispatch(QUEUES.payouts, job);
  }

  @OnWorkerEvent('failed')
  async onFailed(job: Job<{ id: string }> | undefined, error: Error): Promise<void> {
    // Failed for good (attempts or stalls spent), not merely waiting for a retry.
    if (job && (await job.isFailed())) await this.runs.markFailed(job.data.id, error.message);
  }
}
