import { getQueueToken } from '@nestjs/bullmq';
import { Injectable, Logger, OnApplicationBootstrap, OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, ModuleRef } from '@nestjs/core';
import type { Job, Queue } from 'bullmq';
import { JobFailedHandler, JobHandler, ON_JOB, ON_JOB_FAILED, OnJobFailedOptions, OnJobOptions } from './on-job';
import { OutboxRoutes } from './outbox/outbox.topics';
import { JOBS, QueueName } from './queues';
import { withLogContext } from '../common/logging/log-context';

/**
 * The job handlers of the features (methods marked `@OnJob`), found at start. Every job name must
 * have exactly one, and every job the outbox can produce a handler on its queue, so a missing
 * handler fails the boot, not a job at 3 a.m.
 */
@Injectable()
export class JobHandlers implements OnModuleInit, OnApplicationBootstrap {
  private readonly logger = new Logger(JobHandlers.name);
  private readonly handlers = new Map<string, JobHandler>();
  private readonly failedHandlers = new Map<string, JobFailedHandler>();
  private readonly schedules: OnJobOptions[] = [];
  private discovered = false;

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly moduleRef: ModuleRef,
    private readonly routes: OutboxRoutes,
  ) {}

  onModuleInit(): void {
    this.discover();
  }

  async onApplicationBootstrap(): Promise<void> {
    this.check();
    this.logger.log(`${this.handlers.size} job handlers registered`);
    for (const { queue, name, schedule } of this.schedules) {
      const first = schedule!.delayFirst ? { startDate: Date.now() + schedule!.every } : {};
      await this.queue(queue).upsertJobScheduler(name, { every: schedule!.every, ...first }, { name });
    }
  }

  /** Runs the job's handler; every line it logs carries the job's queue, name and id, and one line says how it ended. */
  async dispatch(queue: QueueName, job: Job): Promise<unknown> {
    this.discover(); // a worker may take a job before this provider's onModuleInit ran
    const handler = this.handlers.get(`${queue}/${job.name}`);
    if (!handler) throw new Error(`no handler for job ${queue}/${job.name}`);
    return withLogContext({ queue, job: job.name, jobId: job.id ?? '', attempt: job.attemptsMade + 1 }, async () => {
      const started = performance.now();
      try {
        const result = await handler(job);
        this.logger.log({ msg: 'job done', durationMs: Math.round(performance.now() - started) });
        return result;
      } catch (error) {
        this.logger.warn({ msg: `job failed: ${(error as Error).message}`, durationMs: Math.round(performance.now() - started) });
        throw error;
      }
    });
  }

  async failed(queue: QueueName, job: Job | undefined, error: Error): Promise<void> {
    const handler = job && this.failedHandlers.get(`${queue}/${job.name}`);
    if (handler && (await job.isFailed())) await handler(job, error);
  }

  private discover(): void {
    if (this.discovered) return;
    this.discovered = true;
    for (const wrapper of this.discovery.getProviders()) {
      const instance = wrapper.instance as Record<string, unknown> | undefined;
      if (!instance || typeof instance !== 'object' || !wrapper.isDependencyTreeStatic()) continue;
      for (const method of this.scanner.getAllMethodNames(Object.getPrototypeOf(instance))) {
        const fn = instance[method] as (...args: never[]) => Promise<unknown>;
        const onJob: OnJobOptions | undefined = Reflect.getMetadata(ON_JOB, fn);
        if (onJob) {
          this.add(this.handlers, onJob, fn.bind(instance) as JobHandler, `${wrapper.name}.${method}`);
          if (onJob.schedule) this.schedules.push(onJob);
        }
        const onFailed: OnJobFailedOptions | undefined = Reflect.getMetadata(ON_JOB_FAILED, fn);
        if (onFailed) this.add(this.failedHandlers, onFailed, fn.bind(instance) as JobFailedHandler, `${wrapper.name}.${method}`);
      }
    }
  }

  private add<H>(map: Map<string, H>, { queue, name }: { queue: QueueName; name: string }, handler: H, where: string): void {
    const key = `${queue}/${name}`;
    if (map.has(key)) throw new Error(`two handlers for job ${key} (one is ${where})`);
    map.set(key, handler);
  }

  private check(): void {
    const names = [...this.handlers.keys()].map((key) => key.slice(key.indexOf('/') + 1));
    const problems = [
      ...Object.values(JOBS)
        .filter((name) => names.filter((n) => n === name).length !== 1)
        .map((name) => `${name} (${names.filter((n) => n === name).length} handlers)`),
      ...this.routes
        .all()
        .filter(([, route]) => !this.handlers.has(`${route.queue}/${route.job}`))
        .map(([topic, route]) => `${route.queue}/${route.job} (outbox topic ${topic})`),
    ];
    if (problems.length) throw new Error(`every job needs exactly one handler: ${problems.join(', ')}`);
  }

  private queue(name: QueueName): Queue {
    return this.moduleRef.get<Queue>(getQueueToken(name), { strict: false });
  }
}
