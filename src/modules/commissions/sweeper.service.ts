import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Job, Queue } from 'bullmq';
import { DataSource, EntityManager } from 'typeorm';
import { MetricsService } from '../../common/metrics/metrics.service';
import { OutboxRelay } from '../../queue/outbox/outbox.relay';
import { isBatchRoute, OutboxRoutes, OutboxTopic } from '../../queue/outbox/outbox.topics';
import { JOBS, QUEUES, QueueName } from '../../queue/queues';
import { invoicesRepository } from '../billing/invoices.repository';
import { ConversionsService } from '../conversions/conversions.service';
import { payoutsRepository } from '../payouts/payouts.repository';
import { missingPostingsQuery } from './commission.checks';
import { CommissionsService } from './commissions.service';

/** Work younger than this is left to the path that is handling it. */
const GRACE_SECONDS = 60;
const BATCH = 1000;

const MISSING_POSTINGS = missingPostingsQuery(GRACE_SECONDS, BATCH);

/**
 * Which failed jobs the sweeper retries. Commission and Stripe-event jobs are idempotent and
 * their work is owed; outgoing postbacks give up by design (their attempt log shows it); a
 * payout or invoice run that failed for good is marked failed and re-running it is finance's
 * call; approvals run again on their own schedule.
 */
const RETRY_FAILED: Partial<Record<QueueName, (job: Job) => boolean>> = {
  commissions: () => true,
  billing: (job) => job.name === JOBS.stripeEvent,
};

/** Runs whose job may be gone: where to find the live ones older than the grace (their owner's repository), and the topic whose route (queue, job, job id) they take. */
const RUNS: { live: (manager: EntityManager) => Promise<string[]>; topic: OutboxTopic }[] = [
  { live: (manager) => payoutsRepository.liveRunsOlderThan(manager, GRACE_SECONDS, BATCH), topic: 'payout_run.requested' },
  { live: (manager) => invoicesRepository.liveRunsOlderThan(manager, GRACE_SECONDS, BATCH), topic: 'invoice_run.requested' },
];

export interface SweepReport {
  missingPostings: number;
  failedJobs: number;
  stuckRuns: number;
  racedPixels: number;
  prunedOutbox: number;
}

/**
 * Re-drives what was lost between the database and the queues: conversions whose ledger
 * entries are missing are posted, jobs that spent their attempts are retried (where that is
 * safe, see RETRY_FAILED), payout and invoice runs left queued or running without a job get
 * their job back (same fixed id, so never twice), and relayed outbox rows past their retention
 * are pruned, and a pixel conversion that raced an authenticated one for its txn id is superseded
 * (see ConversionsService.supersedeRacedPixels). Each pass is idempotent; it runs on a schedule in the worker.
 */
@Injectable()
export class SweeperService {
  private readonly logger = new Logger(SweeperService.name);
  private readonly queues: Record<string, Queue>;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly commissions: CommissionsService,
    private readonly conversions: ConversionsService,
    private readonly relay: OutboxRelay,
    private readonly routes: OutboxRoutes,
    private readonly metrics: MetricsService,
    @InjectQueue(QUEUES.commissions) commissions_: Queue,
    @InjectQueue(QUEUES.billing) billing: Queue,
    @InjectQueue(QUEUES.payouts) payouts: Queue,
  ) {
    this.queues = { commissions: commissions_, billing, payouts };
  }

  async sweep(): Promise<SweepReport> {
    const report: SweepReport = {
      missingPostings: await this.postMissing(),
      failedJobs: await this.retryFailed(),
      stuckRuns: await this.redriveRuns(),
      racedPixels: await this.conversions.supersedeRacedPixels(GRACE_SECONDS, BATCH),
      prunedOutbox: await this.relay.prune(),
    };
    const kinds: [keyof SweepReport, string][] = [
      ['missingPostings', 'missing_postings'],
      ['failedJobs', 'failed_jobs'],
      ['stuckRuns', 'stuck_runs'],
      ['racedPixels', 'raced_pixels'],
      ['prunedOutbox', 'pruned_outbox'],
    ];
    for (const [field, kind] of kinds) if (report[field]) this.metrics.sweeperRedriven.inc({ kind }, report[field]);
    const found = report.missingPostings + report.failedJobs + report.stuckRuns + report.racedPixels;
    const line = `sweep: ${report.missingPostings} conversion(s) posted, ${report.failedJobs} failed job(s) retried, ${report.stuckRuns} run(s) re-enqueued, ${report.racedPixels} raced pixel conversion(s) superseded, ${report.prunedOutbox} outbox row(s) pruned`;
    if (found) this.logger.warn(line);
    else this.logger.log(line);
    return report;
  }

  private async postMissing(): Promise<number> {
    const rows: { id: string }[] = await this.dataSource.query(MISSING_POSTINGS);
    if (!rows.length) return 0;
    const failed = await this.commissions.postMissingEach(rows.map((r) => r.id));
    for (const [id, error] of failed) this.logger.error(`sweep: conversion ${id} still cannot be posted: ${error.message}`);
    return rows.length - failed.size;
  }

  private async retryFailed(): Promise<number> {
    let retried = 0;
    for (const [name, wanted] of Object.entries(RETRY_FAILED)) {
      const jobs = await this.queues[name].getFailed(0, BATCH - 1);
      for (const job of jobs) {
        // Only jobs failed for good: a job between its attempts is BullMQ's to retry.
        if (job.attemptsMade < (job.opts.attempts ?? 1) || !wanted(job)) continue;
        await job.retry('failed');
        retried++;
      }
    }
    return retried;
  }

  private async redriveRuns(): Promise<number> {
    let redriven = 0;
    for (const run of RUNS) {
      const route = this.routes.get(run.topic);
      if (!route || isBatchRoute(route)) throw new Error(`outbox topic ${run.topic} has no one-job route`);
      const stuck = await run.live(this.dataSource.manager);
      const queue = this.queues[route.queue];
      for (const id of stuck) {
        const jobId = route.jobId(id, {});
        const job = await queue.getJob(jobId);
        if (job && (await job.isFailed())) await job.retry('failed');
        else if (!job) await queue.add(route.job, { id }, { jobId });
        else continue;
        redriven++;
      }
    }
    return redriven;
  }
}
