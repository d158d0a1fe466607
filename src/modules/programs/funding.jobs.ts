import { Injectable } from '@nestjs/common';
import { Job } from 'bullmq';
import { OnJob } from '../../queue/on-job';
import { batchJobId, OutboxBatchRoute } from '../../queue/outbox/outbox.topics';
import { JOBS, QUEUES } from '../../queue/queues';
import { FundingService } from './funding.service';

declare module '../../queue/outbox/outbox.topics' {
  interface OutboxTopics {
    /** A prepaid advertiser's funds ran low or a conversion waits for them; aggregate id `<advertiserId>:<currency>`. */
    'funding.check': true;
    /** Consumed by the webhooks feature (until it lands, such rows are parked). */
    'webhook.dispatch': true;
  }
}

/** The checks of a relay pass go in one job; each (advertiser, currency) is settled once per job. */
export const FUNDING_ROUTES = { 'funding.check': { queue: QUEUES.billing, job: JOBS.fundingCheck, batch: { max: 200, jobId: batchJobId('funding') } } satisfies OutboxBatchRoute };

@Injectable()
export class FundingJobs {
  constructor(private readonly funding: FundingService) {}

  @OnJob({ queue: QUEUES.billing, name: JOBS.fundingCheck })
  async check(job: Job<{ ids: string[] }>): Promise<void> {
    for (const key of new Set(job.data.ids)) {
      const [advertiserId, currency] = key.split(':');
      await this.funding.settle(advertiserId, currency);
    }
  }
}
