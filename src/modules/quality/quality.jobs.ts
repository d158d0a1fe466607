import { Injectable, Logger } from '@nestjs/common';
import { ConversionsService } from '../conversions/conversions.service';
import { OnJob } from '../../queue/on-job';
import { JOBS, QUEUES } from '../../queue/queues';
import { QualityService } from './quality.service';

const CHECK_EVERY_MS = 5_000;

/** The quality job: click floods over many batches, and the completed scores of new conversions. */
@Injectable()
export class QualityJobs {
  private readonly logger = new Logger(QualityJobs.name);

  constructor(
    private readonly quality: QualityService,
    private readonly conversions: ConversionsService,
  ) {}

  /**
   * Completes the scores; a pending conversion whose completed score reaches its offer's
   * `rejectAbove` is rejected with reason `risk` through the lifecycle (which posts what the
   * rejection moves), as intake would have rejected it.
   */
  @OnJob({ queue: QUEUES.maintenance, name: JOBS.qualityCheck, schedule: { every: CHECK_EVERY_MS } })
  async check(): Promise<{ floodedClicks: number; checked: number; held: number; rejected: number }> {
    const { toReject, ...done } = await this.quality.checkPending();
    let rejected = 0;
    for (const id of toReject) {
      try {
        await this.conversions.transition(id, 'rejected', { type: 'system', id: null }, 'risk');
        rejected += 1;
      } catch (error) {
        // Decided meanwhile (approved by hand, reversed …): the decision made stands.
        this.logger.warn(`quality: conversion ${id} not rejected: ${(error as Error).message}`);
      }
    }
    return { ...done, rejected };
  }
}
