import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Queue } from 'bullmq';
import { MetricsService } from '../common/metrics/metrics.service';
import { Config } from '../config/configuration';
import { OnJob } from './on-job';
import { JOBS, QUEUES } from './queues';

const HOUR_MS = 3600 * 1000;
const DAY_MS = 24 * HOUR_MS;
const FAILED_JOBS_PER_CALL = 1000;

/** One kind of data a module prunes: answers how many rows (or partitions, jobs) it removed. */
export interface RetentionTask {
  /** The kind, as the report and the metric name it: `click_partitions`, `postback_attempts` … */
  kind: string;
  run(): Promise<number>;
}

/**
 * Runs `batch` (one short statement that removes at most `size` rows and answers how many it
 * removed) until it removes fewer than `size` or `maxBatches` ran: no long transaction and no
 * long lock on a hot table. Answers the total.
 */
export async function inBatches(size: number, batch: (size: number) => Promise<number>, maxBatches = 1000): Promise<number> {
  let total = 0;
  for (let i = 0; i < maxBatches; i++) {
    const n = await batch(size);
    total += n;
    if (n < size) break;
  }
  return total;
}

/**
 * The retention job (README, "Retention"): every module that owns data kept for a limited
 * time registers a task here (the SQL stays in its module); the job runs them one after the
 * other on the maintenance queue, every hour, logs and counts what each removed. Rollups and
 * the ledger register nothing: they are kept.
 */
@Injectable()
export class RetentionService {
  private readonly logger = new Logger(RetentionService.name);
  private readonly tasks: RetentionTask[] = [];
  private readonly removed;
  private readonly failedJobDays: number;
  private readonly queues: Queue[];

  constructor(
    config: ConfigService<Config, true>,
    metrics: MetricsService,
    @InjectQueue(QUEUES.commissions) commissions: Queue,
    @InjectQueue(QUEUES.partnerPostbacks) postbacks: Queue,
    @InjectQueue(QUEUES.payouts) payouts: Queue,
    @InjectQueue(QUEUES.billing) billing: Queue,
    @InjectQueue(QUEUES.maintenance) maintenance: Queue,
    @InjectQueue(QUEUES.outbox) outbox: Queue,
  ) {
    this.removed = metrics.counter('afx_retention_removed_total', 'what the retention job removed, by kind (rows, partitions or jobs)', ['kind']);
    this.failedJobDays = config.get('retention', { infer: true }).failedJobDays;
    this.queues = [commissions, postbacks, payouts, billing, maintenance, outbox];
    this.register({ kind: 'failed_jobs', run: () => this.cleanFailedJobs() });
  }

  register(task: RetentionTask): void {
    if (this.tasks.some((t) => t.kind === task.kind)) throw new Error(`two retention tasks for ${task.kind}`);
    this.tasks.push(task);
  }

  /** Runs every task; one that fails is logged and the others still run. Answers what each removed. */
  async run(): Promise<Record<string, number>> {
    const report: Record<string, number> = {};
    const failed: string[] = [];
    for (const task of this.tasks) {
      try {
        report[task.kind] = await task.run();
        if (report[task.kind]) this.removed.inc({ kind: task.kind }, report[task.kind]);
      } catch (error) {
        failed.push(task.kind);
        this.logger.error(`retention: ${task.kind} failed: ${(error as Error).message}`);
      }
    }
    const summary = Object.entries(report)
      .map(([kind, n]) => `${n} ${kind}`)
      .join(', ');
    this.logger.log(`retention: removed ${summary}${failed.length ? `; failed: ${failed.join(', ')}` : ''}`);
    if (failed.length) throw new Error(`retention tasks failed: ${failed.join(', ')}`);
    return report;
  }

  @OnJob({ queue: QUEUES.maintenance, name: JOBS.retention, schedule: { every: HOUR_MS, delayFirst: true } })
  job(): Promise<Record<string, number>> {
    return this.run();
  }

  /** Jobs that failed for good more than FAILED_JOB_RETENTION_DAYS ago (BullMQ's removeOnFail covers jobs failed since). */
  private async cleanFailedJobs(): Promise<number> {
    if (!this.failedJobDays) return 0;
    let total = 0;
    for (const queue of this.queues) {
      total += await inBatches(FAILED_JOBS_PER_CALL, async (size) => (await queue.clean(this.failedJobDays * DAY_MS, size, 'failed')).length, 100);
    }
    return total;
  }
}
