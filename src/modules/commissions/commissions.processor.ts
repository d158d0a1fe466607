import { InjectQueue, Processor, WorkerHost } from '@nestjs/bullmq';
import { OnApplicationBootstrap } from '@nestjs/common';
import { Job, Queue } from 'bullmq';
import { GroupCommit } from '../../common/batching/group-commit';
import { JobHandlers } from '../../queue/job-handlers';
import { JOBS, QUEUES } from '../../queue/queues';
import { CommissionsService, postingFailure } from './commissions.service';
import { SweeperService } from './sweeper.service';

const APPROVAL_EVERY_MS = 60_000;
const SWEEP_EVERY_MS = 5 * 60_000;

/** Posts commissions and status changes to the ledger; all jobs of a conversion converge on one reconcile. */
@Processor(QUEUES.commissions, { concurrency: 32 })
export class CommissionsProcessor extends WorkerHost {
  constructor(
    private readonly handlers: JobHandlers,
    commissions: CommissionsService,
  ) {
    super();
    // The jobs running at once are posted together: one transaction for many small jobs. A
    // conversion the ledger refuses fails only its own job (reconcileEach isolates it).
    const group = new GroupCommit<string[], Error | null>(
      async (lists) => {
        const failed = await commissions.reconcileEach(lists.flat());
        return lists.map((ids) => postingFailure(ids, failed));
      },
      // Two at once: the next batch reads and plans while the last one commits.
      { maxBatch: 2000, sizeOf: (ids) => ids.length, concurrency: 2 },
    );
    const post = async (ids: string[]) => {
      const error = await group.submit(ids);
      if (error) throw error;
    };
    handlers.register(QUEUES.commissions, JOBS.postCommissions, (job: Job<{ ids: string[] }>) => post(job.data.ids));
    // The one-conversion jobs of before the batches: some may still be queued at an upgrade.
    const reconcile = (job: Job<{ id: string }>) => post([job.data.id]);
    handlers.register(QUEUES.commissions, JOBS.postCommission, reconcile);
    handlers.register(QUEUES.commissions, JOBS.applyStatusChange, reconcile);
  }

  process(job: Job): Promise<unknown> {
    return this.handlers.dispatch(QUEUES.commissions, job);
  }
}

/** Scheduled housekeeping: the approval of conversions past their lock period, and the sweeper. */
@Processor(QUEUES.maintenance, { concurrency: 1 })
export class MaintenanceProcessor extends WorkerHost implements OnApplicationBootstrap {
  constructor(
    private readonly handlers: JobHandlers,
    commissions: CommissionsService,
    sweeper: SweeperService,
    @InjectQueue(QUEUES.maintenance) private readonly queue: Queue,
  ) {
    super();
    handlers.register(QUEUES.maintenance, JOBS.approveDue, () => commissions.approveDue());
    handlers.require(QUEUES.maintenance, JOBS.approveDue);
    handlers.register(QUEUES.maintenance, JOBS.sweep, () => sweeper.sweep());
    handlers.require(QUEUES.maintenance, JOBS.sweep);
  }

  async onApplicationBootstrap(): Promise<void> {
    // One scheduler per name however many workers start: BullMQ upserts it.
    await this.queue.upsertJobScheduler(JOBS.approveDue, { every: APPROVAL_EVERY_MS }, { name: JOBS.approveDue });
    // The first sweep one interval after start: what a start finds in flight is not lost yet.
    await this.queue.upsertJobScheduler(JOBS.sweep, { every: SWEEP_EVERY_MS, startDate: Date.now() + SWEEP_EVERY_MS }, { name: JOBS.sweep });
  }

  process(job: Job): Promise<unknown> {
    return this.handlers.dispatch(QUEUES.maintenance, job);
  }
}
