import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import type { Job } from 'bullmq';
import { OUTBOX_ROUTES } from './outbox/outbox.topics';
import { JobName, QueueName } from './queues';

export type JobHandler = (job: Job) => Promise<unknown>;

/**
 * Processors register a handler per job name; at start the registry checks that every job
 * the outbox or a schedule can produce has exactly one, so a missing handler fails the boot,
 * not a job at 3 a.m.
 */
@Injectable()
export class JobHandlers implements OnApplicationBootstrap {
  private readonly logger = new Logger(JobHandlers.name);
  private readonly handlers = new Map<string, JobHandler>();
  private readonly required = new Set<string>(Object.values(OUTBOX_ROUTES).map((r) => `${r.queue}/${r.job}`));

  register(queue: QueueName, job: JobName, handler: JobHandler): void {
    const key = `${queue}/${job}`;
    if (this.handlers.has(key)) throw new Error(`two handlers for job ${key}`);
    this.handlers.set(key, handler);
  }

  require(queue: QueueName, job: JobName): void {
    this.required.add(`${queue}/${job}`);
  }

  async dispatch(queue: QueueName, job: Job): Promise<unknown> {
    const handler = this.handlers.get(`${queue}/${job.name}`);
    if (!handler) throw new Error(`no handler for job ${queue}/${job.name}`);
    return handler(job);
  }

  onApplicationBootstrap(): void {
    const missing = [...this.required].filter((key) => !this.handlers.has(key));
    if (missing.length) throw new Error(`jobs without a handler: ${missing.join(', ')}`);
    this.logger.log(`${this.handlers.size} job handlers registered`);
  }
}
