import { SetMetadata } from '@nestjs/common';
import type { Job } from 'bullmq';
import { JobName, QueueName } from './queues';

export const ON_JOB = 'afflux:on-job';
export const ON_JOB_FAILED = 'afflux:on-job-failed';

export interface OnJobOptions {
  queue: QueueName;
  name: JobName;
  /** A repeatable job: the worker upserts its scheduler at start (one per name however many workers start). */
  schedule?: { every: number; /** The first run one interval after start rather than at once. */ delayFirst?: boolean };
}

export interface OnJobFailedOptions {
  queue: QueueName;
  name: JobName;
}

/**
 * Marks a feature's method as the handler of one job (`handler(job)`); the worker finds it at start
 * (JobHandlers) and refuses to boot if a job has none or two. See ARCHITECTURE.md (jobs).
 */
export const OnJob = (options: OnJobOptions): MethodDecorator => SetMetadata(ON_JOB, options);

/** Called (`handler(job, error)`) when a job of this name failed for good: attempts or stalls spent, not merely waiting for a retry. */
export const OnJobFailed = (options: OnJobFailedOptions): MethodDecorator => SetMetadata(ON_JOB_FAILED, options);

export type JobHandler = (job: Job) => Promise<unknown>;
export type JobFailedHandler = (job: Job, error: Error) => Promise<unknown>;
