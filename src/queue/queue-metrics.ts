import { Injectable } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { getQueueToken } from '@nestjs/bullmq';
import { Queue } from 'bullmq';
import { Counter, Gauge } from 'prom-client';
import { MetricsService } from '../common/metrics/metrics.service';
import { QUEUES, QueueName } from './queues';

const STATES = ['waiting', 'active', 'delayed', 'prioritized', 'failed', 'waiting-children'] as const;

/**
 * The queues' metrics (README, "Metrics to alert on"): jobs per queue and state, read from Redis
 * when /metrics is scraped, and the workers' completed, failed and stalled jobs, counted as they happen.
 */
@Injectable()
export class QueueMetrics {
  readonly completed: Counter<'queue'>;
  /** `final`: the job spent its attempts (or stalls); otherwise BullMQ retries it. */
  readonly failed: Counter<'queue' | 'final'>;
  readonly stalled: Counter<'queue'>;

  constructor(metrics: MetricsService, moduleRef: ModuleRef) {
    const queues = () => Object.values(QUEUES).map((name) => [name, moduleRef.get<Queue>(getQueueToken(name), { strict: false })] as const);
    new Gauge({
      name: 'afx_queue_jobs',
      help: 'jobs per queue and state (failed: failed for good and kept, see FAILED_JOB_RETENTION_DAYS)',
      labelNames: ['queue', 'state'],
      registers: [metrics.registry],
      async collect() {
        const counts = await Promise.all(queues().map(async ([name, queue]) => [name, await queue.getJobCounts(...STATES)] as const));
        for (const [queue, byState] of counts) for (const state of STATES) this.set({ queue, state }, byState[state] ?? 0);
      },
    });
    this.completed = new Counter({ name: 'afx_jobs_completed_total', help: 'jobs this process completed, per queue', labelNames: ['queue'], registers: [metrics.registry] });
    this.failed = new Counter({
      name: 'afx_jobs_failed_total',
      help: 'job attempts that failed in this process, per queue; final="true" when the job will not be retried',
      labelNames: ['queue', 'final'],
      registers: [metrics.registry],
    });
    this.stalled = new Counter({
      name: 'afx_jobs_stalled_total',
      help: 'jobs whose worker stopped answering (a crash, a blocked event loop), per queue',
      labelNames: ['queue'],
      registers: [metrics.registry],
    });
  }

  jobFailed(queue: QueueName, final: boolean): void {
    this.failed.inc({ queue, final: String(final) });
  }
}
