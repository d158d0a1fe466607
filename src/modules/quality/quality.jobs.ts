import { Injectable } from '@nestjs/common';
import { OnJob } from '../../queue/on-job';
import { JOBS, QUEUES } from '../../queue/queues';
import { QualityService } from './quality.service';

const CHECK_EVERY_MS = 5_000;

/** The quality job: click floods over many batches, and the completed scores of new conversions. */
@Injectable()
export class QualityJobs {
  constructor(private readonly quality: QualityService) {}

  @OnJob({ queue: QUEUES.maintenance, name: JOBS.qualityCheck, schedule: { every: CHECK_EVERY_MS } })
  check(): Promise<unknown> {
    return this.quality.checkPending();
  }
}
