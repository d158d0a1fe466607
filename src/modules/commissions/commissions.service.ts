import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { OutboxService } from '../../queue/outbox/outbox.service';
import { Conversion } from '../conversions/conversion.entity';
import { conversionsRepository } from '../conversions/conversions.repository';
import { ConversionsService } from '../conversions/conversions.service';
import { CommissionFacts, CommissionPostings, postingFacts } from '../conversions/commission-postings';

export { missingPostings } from '../conversions/commission-postings';
export type { CommissionFacts } from '../conversions/commission-postings';

/**
 * Brings the ledger in line with a conversion's status. It looks at what is already posted
 * (entries are unique per cause and kind), so it can run any number of times, in any order,
 * after a crash half-way, and post each movement once.
 */
@Injectable()
export class CommissionsService {
  private readonly logger = new Logger(CommissionsService.name);

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly postings: CommissionPostings,
    private readonly conversions: ConversionsService,
    private readonly outbox: OutboxService,
  ) {}

  async postMissing(conversionId: string): Promise<void> {
    await this.postMissingMany([conversionId]);
  }

  /**
   * The same for many conversions in one transaction: they are locked in id order (two batches
   * sharing a conversion wait, never deadlock), what they already have is read in one query and
   * what they miss is posted with a few statements. Throws what `postingFailure` makes of the
   * conversions that could not be posted.
   */
  async postMissingMany(conversionIds: string[]): Promise<void> {
    const error = postingFailure(conversionIds, await this.postMissingEach(conversionIds));
    if (error) throw error;
  }

  /**
   * postMissingMany without the throw: answers the conversions that could not be posted, with why.
   * When the batch fails, each conversion is tried alone, so one the ledger refuses does not hold
   * the others back.
   */
  async postMissingEach(conversionIds: string[]): Promise<Map<string, Error>> {
    const ids = [...new Set(conversionIds.map((id) => id.toLowerCase()))].sort();
    const failed = new Map<string, Error>();
    if (!ids.length) return failed;
    try {
      await this.postMissingBatch(ids);
    } catch (error) {
      if (ids.length === 1) return failed.set(ids[0], error as Error);
      this.logger.warn(`posting ${ids.length} conversions together failed (${(error as Error).message}); posting them one by one`);
      for (const id of ids) await this.postMissingBatch([id]).catch((e: Error) => failed.set(id, e));
    }
    return failed;
  }

  private async postMissingBatch(ids: string[]): Promise<void> {
    await this.dataSource.transaction(async (manager) => {
      // Only what the postings need, without entity hydration: this runs for every conversion.
      const conversions = (await conversionsRepository.lockForPosting(manager, ids)).map(postingFacts);
      if (conversions.length < ids.length) {
        const found = new Set(conversions.map((c) => c.id));
        this.logger.warn(`conversion(s) ${ids.filter((id) => !found.has(id)).join(', ')} not found; nothing to post`);
      }
      await this.postMissingLocked(manager, conversions);
    });
  }

  /** The same, for conversions the caller has locked in its own transaction. */
  postMissingLocked(manager: EntityManager, conversions: CommissionFacts[]): Promise<void> {
    return this.postings.postMissingLocked(manager, conversions);
  }

  /**
   * Approves pending conversions whose lock period is over, in batches; each approval and its
   * ledger entry are written together. Returns how many were approved. First releases what waits
   * for the funds of an advertiser switched back to invoice, so it is approved here like the rest.
   */
  async approveDue(batchSize = 500, now = new Date()): Promise<number> {
    const released = await this.conversions.releaseFundsHoldsOfInvoiced();
    if (released) this.logger.log(`released ${released} conversion(s) waiting for funds of advertiser(s) now billed by invoice`);
    let total = 0;
    for (;;) {
      const approved = await this.dataSource.transaction(async (manager) => {
        const due = await conversionsRepository.lockDueForApproval(manager, now, batchSize);
        const updated: Conversion[] = [];
        for (const conversion of due) {
          updated.push(await this.conversions.applyTransition(manager, conversion, 'approved', { type: 'system', id: null }, 'lock period over', { post: false }));
        }
        // The whole batch's entries in one posting, still in the transaction of the status changes.
        await this.postMissingLocked(manager, updated);
        return due.length;
      });
      total += approved;
      if (approved > 0) this.outbox.notify();
      if (approved < batchSize) break;
    }
    if (total) this.logger.log(`approved ${total} conversion(s) past their lock period`);
    return total;
  }
}

/**
 * The error for the conversions of `ids` that `failed` (from postMissingEach): one conversion's own
 * error, or one naming each of them; null when all of them were posted.
 */
export function postingFailure(ids: string[], failed: ReadonlyMap<string, Error>): Error | null {
  const unique = [...new Set(ids.map((id) => id.toLowerCase()))];
  const errors = unique.flatMap((id) => (failed.has(id) ? [{ id, error: failed.get(id) as Error }] : []));
  if (errors.length === 0) return null;
  if (unique.length === 1) return errors[0].error;
  return new Error(`could not post ${errors.map((f) => `conversion ${f.id} (${f.error.message})`).join('; ')}`);
}
