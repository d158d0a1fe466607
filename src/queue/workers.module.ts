import { OnWorkerEvent, Processor, WorkerHost } from '@nestjs/bullmq';
import { Inject, Module, Type } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { Job } from 'bullmq';
import { JobHandlers } from './job-handlers';
import { QueueMetrics } from './queue-metrics';
import { QueueName, WORKER_OPTIONS } from './queues';

/** The BullMQ worker of one queue: it hands each job to the feature method marked `@OnJob` for it. */
function processorFor(queue: QueueName): Type<WorkerHost> {
  @Processor(queue, WORKER_OPTIONS[queue]!)
  class QueueProcessor extends WorkerHost {
    constructor(
      @Inject(JobHandlers) private readonly handlers: JobHandlers,
      @Inject(QueueMetrics) private readonly metrics: QueueMetrics,
    ) {
      super();
    }

    process(job: Job): Promise<unknown> {
      return this.handlers.dispatch(queue, job);
    }

    @OnWorkerEvent('failed')
    onFailed(job: Job | undefined, error: Error): Promise<void> {
      this.metrics.jobFailed(queue, !job || job.attemptsMade >= (job.opts.attempts ?? 1));
      return this.handlers.failed(queue, job, error);
    }

    @OnWorkerEvent('completed')
    onCompleted(): void {
      this.metrics.completed.inc({ queue });
    }

    @OnWorkerEvent('stalled')
    onStalled(): void {
      this.metrics.stalled.inc({ queue });
    }
  }
  Object.defineProperty(QueueProcessor, 'name', { value: `${queue[0].toUpperCase()}${queue.slice(1)}Processor` });
  return QueueProcessor;
}

/**
 * The BullMQ workers. Imported by the worker entry point, and by the API process when
 * RUN_WORKERS is on. The handlers are the features' own (`@OnJob`); this module knows none of
 * them, and JobHandlers refuses to start if a job that can be produced has no handler.
 */
@Module({
  imports: [DiscoveryModule],
  providers: [JobHandlers, ...(Object.keys(WORKER_OPTIONS) as QueueName[]).map(processorFor)],
})
export class WorkersModule {}
