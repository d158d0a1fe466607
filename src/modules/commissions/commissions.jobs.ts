import { Injectable } from '@nestjs/common';
import { Job } from 'bullmq';
import { GroupCommit } from '../../common/batching/group-commit';
import { OnJob } from '../../queue/on-job';
import { batchJobId, OutboxBatchRoute } from '../../queue/outbox/outbox.topics';
import { JOBS, QUEUES } from '../../queue/queues';
import { BonusesService } from '../programs/bonuses.service';
import { CommissionsService, postingFailure } from './commissions.service';
import { SweeperService } from './sweeper.service';

const APPROVAL_EVERY_MS = 60_000;
const SWEEP_EVERY_MS = 5 * 60_000;

declare module '../../queue/outbox/outbox.topics' {
  interface OutboxTopics {
    'conversion.recorded': true;
    'conversion.status_changed': true;
  }
}

/** Every conversion message converges on one posting of what the conversion misses: they batch together. */
const COMMISSIONS_BATCH: OutboxBatchRoute = { queue: QUEUES.commissions, job: JOBS.postCommissions, batch: { max: 500, jobId: batchJobId('commissions') } };
export const COMMISSIONS_ROUTES = { 'conversion.recorded': COMMISSIONS_BATCH, 'conversion.status_changed': COMMISSIONS_BATCH };

/** Posts commissions and status changes to the ledger; all jobs of a conversion converge on one postMissing. */
@Injectable()
export class CommissionsJobs {
  private readonly group: GroupCommit<string[], Error | null>;

  constructor(
    commissions: CommissionsService,
    private readonly bonuses: BonusesService,
  ) {
    // The jobs running at once are posted together: one transaction for many small jobs. A
    // conversion the ledger refuses fails only its own job (postMissingEach isolates it).
    this.group = new GroupCommit<string[], Error | null>(
      async (lists) => {
        const failed = await commissions.postMissingEach(lists.flat());
        return lists.map((ids) => postingFailure(ids, failed));
      },
      // Two at once: the next batch reads and plans while the last one commits.
      { maxBatch: 2000, sizeOf: (ids) => ids.length, concurrency: 2 },
    );
  }

  @OnJob({ queue: QUEUES.commissions, name: JOBS.postCommissions })
  postCommissions(job: Job<{ ids: string[] }>): Promise<void> {
    return this.post(job.data.ids);
  }

  // The one-conversion jobs of before the batches: some may still be queued at an upgrade.
  @OnJob({ queue: QUEUES.commissions, name: JOBS.postCommission })
  postCommission(job: Job<{ id: string }>): Promise<void> {
    return this.post([job.data.id]);
  }

  @OnJob({ queue: QUEUES.commissions, name: JOBS.applyStatusChange })
  applyStatusChange(job: Job<{ id: string }>): Promise<void> {
    return this.post([job.data.id]);
  }

  private async post(ids: string[]): Promise<void> {
    const error = await this.group.submit(ids);
    if (error) throw error;
    // Their statuses are posted: the bonuses of their offers may now be earned, or lost.
    await this.bonuses.evaluate(ids);
  }
}

/** Scheduled housekeeping: the approval of conversions past their lock period, and the sweeper. */
@Injectable()
export class MaintenanceJobs {
  constructor(
    private readonly commissions: CommissionsService,
    private readonly sweeper: SweeperService,
  ) {}

  @OnJob({ queue: QUEUES.maintenance, name: JOBS.approveDue, schedule: { every: APPROVAL_EVERY_MS } })
  approveDue(): Promise<unknown> {
    return this.commissions.approveDue();
  }

  // The first sweep one interval after start: what a start finds in flight is not lost yet.
  @OnJob({ queue: QUEUES.maintenance, name: JOBS.sweep, schedule: { every: SWEEP_EVERY_MS, delayFirst: true } })
  sweep(): Promise<unknown> {
    return this.sweeper.sweep();
  }
}
