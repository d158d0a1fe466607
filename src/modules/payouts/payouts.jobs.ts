import { Injectable } from '@nestjs/common';
import { Job } from 'bullmq';
import { OnJob, OnJobFailed } from '../../queue/on-job';
import { JOBS, QUEUES } from '../../queue/queues';
import { PayoutRunsService } from './payout-runs.service';

declare module '../../queue/outbox/outbox.topics' {
  interface OutboxTopics {
    'payout_run.requested': true;
  }
}

export const PAYOUTS_ROUTES = {
  'payout_run.requested': { queue: QUEUES.payouts, job: JOBS.payoutRun, jobId: (id: string) => `payout-run-${id}` },
};

/** Payout runs: one job per run (fixed id), resumable; progress reported on the job and the run. */
@Injectable()
export class PayoutsJobs {
  constructor(private readonly runs: PayoutRunsService) {}

  @OnJob({ queue: QUEUES.payouts, name: JOBS.payoutRun })
  run(job: Job<{ id: string }>): Promise<unknown> {
    return this.runs.execute(job.data.id, (progress) => job.updateProgress({ ...progress }));
  }

  @OnJobFailed({ queue: QUEUES.payouts, name: JOBS.payoutRun })
  async runFailed(job: Job<{ id: string }>, error: Error): Promise<void> {
    await this.runs.markFailed(job.data.id, error.message);
  }
}
