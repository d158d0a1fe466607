import { Injectable } from '@nestjs/common';
import { Job } from 'bullmq';
import { OnJob } from '../../queue/on-job';
import { JOBS, QUEUES } from '../../queue/queues';
import { PostbacksService } from './postbacks.service';

declare module '../../queue/outbox/outbox.topics' {
  interface OutboxTopics {
    'postback.send': true;
  }
}

export const POSTBACKS_ROUTES = {
  'postback.send': { queue: QUEUES.postbacks, job: JOBS.sendPostback, jobId: (id: string, p: Record<string, unknown>) => `postback-${id}-${p.eventId}` },
};

/** Calls affiliates' postback URLs; BullMQ's attempts and backoff are the retry policy. */
@Injectable()
export class PostbacksJobs {
  constructor(private readonly postbacks: PostbacksService) {}

  @OnJob({ queue: QUEUES.postbacks, name: JOBS.sendPostback })
  send(job: Job<{ id: string; eventId: string }>): Promise<unknown> {
    return this.postbacks.deliver(job.data.id, String(job.data.eventId), job.attemptsMade + 1);
  }
}
