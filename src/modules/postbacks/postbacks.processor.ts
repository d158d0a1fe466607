import { Processor, WorkerHost } from '@nestjs/bullmq';
import { Job } from 'bullmq';
import { JobHandlers } from '../../queue/job-handlers';
import { JOBS, QUEUES } from '../../queue/queues';
import { PostbacksService } from './postbacks.service';

/** Calls affiliates' postback URLs; BullMQ's attempts and backoff are the retry policy. */
@Processor(QUEUES.postbacks, { concurrency: 16 })
export class PostbacksProcessor extends WorkerHost {
  constructor(
    private readonly handlers: JobHandlers,
    postbacks: PostbacksService,
  ) {
    super();
    handlers.register(QUEUES.postbacks, JOBS.sendPostback, (job: Job<{ id: string; eventId: string }>) =>
      postbacks.deliver(job.data.id, String(job.data.eventId), job.attemptsMade + 1),
    );
  }

  process(job: Job): Promise<unknown> {
    return this.handlers.dispatch(QUEUES.postbacks, job);
  }
}
