import { Injectable } from '@nestjs/common';
import { Job } from 'bullmq';
import { OnJob } from '../../queue/on-job';
import { JOBS, QUEUES } from '../../queue/queues';
import { PartnerPostbacksService } from './partner-postbacks.service';

declare module '../../queue/outbox/outbox.topics' {
  interface OutboxTopics {
    'postback.send': true;
  }
}

export const PARTNER_POSTBACKS_ROUTES = {
  'postback.send': { queue: QUEUES.partnerPostbacks, job: JOBS.sendPartnerPostback, jobId: (id: string, p: Record<string, unknown>) => `postback-${id}-${p.eventId}` },
};

/** Calls affiliates' postback URLs; BullMQ's attempts and backoff are the retry policy. */
@Injectable()
export class PartnerPostbacksJobs {
  constructor(private readonly partnerPostbacks: PartnerPostbacksService) {}

  @OnJob({ queue: QUEUES.partnerPostbacks, name: JOBS.sendPartnerPostback })
  send(job: Job<{ id: string; eventId: string }>): Promise<unknown> {
    return this.partnerPostbacks.deliver(job.data.id, String(job.data.eventId), job.attemptsMade + 1);
  }
}
