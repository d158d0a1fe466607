import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { OutboxService } from '../../queue/outbox/outbox.service';
import { Conversion } from '../conversions/conversion.entity';
import { ConversionsService } from '../conversions/conversions.service';
import { LedgerService, toMinor } from '../ledger/ledger.service';
import { approvalLines, commissionLines, CommissionAmounts, LEDGER_KINDS, PostingInput, PostingLine, reversalLines, ReversibleStatus } from '../ledger/ledger.postings';

const CAUSE = 'conversion' as const;

/** What the ledger postings of a conversion depend on. */
export type CommissionFacts = Pick<Conversion, 'id' | 'advertiserId' | 'affiliateId' | 'currency' | 'revenue' | 'payout' | 'status' | 'goalKey' | 'txnId'>;

/** Locks in id order, so two batches sharing conversions wait for each other instead of deadlocking. */
const LOCK_CONVERSIONS = `
  SELECT id, advertiser_id, affiliate_id, currency, revenue::text AS revenue, payout::text AS payout, status, goal_key, txn_id
  FROM conversions WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE`;

interface LockedRow {
  id: string;
  advertiser_id: string;
  affiliate_id: string | null;
  currency: string | null;
  revenue: string;
  payout: string;
  status: Conversion['status'];
  goal_key: string;
  txn_id: string;
}

const toFacts = (r: LockedRow): CommissionFacts => ({
  id: r.id,
  advertiserId: r.advertiser_id,
  affiliateId: r.affiliate_id,
  currency: r.currency,
  revenue: toMinor(r.revenue),
  payout: toMinor(r.payout),
  status: r.status,
  goalKey: r.goal_key,
  txnId: r.txn_id,
});

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
    private readonly ledger: LedgerService,
    private readonly conversions: ConversionsService,
    private readonly outbox: OutboxService,
  ) {}

  async reconcile(conversionId: string): Promise<void> {
    await this.reconcileMany([conversionId]);
  }

  /**
   * The same for many conversions in one transaction: they are locked in id order (two batches
   * sharing a conversion wait, never deadlock), what they already have is read in one query and
   * what they miss is posted with a few statements. Throws what `postingFailure` makes of the
   * conversions that could not be posted.
   */
  async reconcileMany(conversionIds: string[]): Promise<void> {
    const error = postingFailure(conversionIds, await this.reconcileEach(conversionIds));
    if (error) throw error;
  }

  /**
   * reconcileMany without the throw: answers the conversions that could not be posted, with why.
   * When the batch fails, each conversion is tried alone, so one the ledger refuses does not hold
   * the others back.
   */
  async reconcileEach(conversionIds: string[]): Promise<Map<string, Error>> {
    const ids = [...new Set(conversionIds.map((id) => id.toLowerCase()))].sort();
    const failed = new Map<string, Error>();
    if (!ids.length) return failed;
    try {
      await this.reconcileBatch(ids);
    } catch (error) {
      if (ids.length === 1) return failed.set(ids[0], error as Error);
      this.logger.warn(`posting ${ids.length} conversions together failed (${(error as Error).message}); posting them one by one`);
      for (const id of ids) await this.reconcileBatch([id]).catch((e: Error) => failed.set(id, e));
    }
    return failed;
  }

  private async reconcileBatch(ids: string[]): Promise<void> {
    await this.dataSource.transaction(async (manager) => {
      // Only what the postings need, without entity hydration: this runs for every conversion.
      const rows: LockedRow[] = await manager.query(LOCK_CONVERSIONS, [ids]);
      const conversions = rows.map(toFacts);
      if (conversions.length < ids.length) {
        const found = new Set(conversions.map((c) => c.id));
        this.logger.warn(`conversion(s) ${ids.filter((id) => !found.has(id)).join(', ')} not found; nothing to post`);
      }
      await this.reconcileAllLocked(manager, conversions);
    });
  }

  /** The same, for conversions the caller has locked in its own transaction. */
  async reconcileAllLocked(manager: EntityManager, conversions: CommissionFacts[]): Promise<void> {
    const attributed = conversions.filter((c) => c.affiliateId && c.currency); // unattributed: nothing earned
    if (!attributed.length) return;
    const ids = attributed.map((c) => c.id);
    const posted = await this.postedKinds(manager, ids);
    const ended = attributed.filter((c) => c.status === 'rejected' || c.status === 'reversed').map((c) => c.id);
    const before = ended.length ? await this.statusesBeforeEnd(manager, ended) : new Map<string, string>();
    const postings = attributed.flatMap((c) => missingPostings(c, posted.get(c.id) ?? new Set(), before.get(c.id) ?? null));
    if (postings.length) await this.ledger.postMany(manager, postings);
  }

  /**
   * Approves pending conversions whose lock period is over, in batches; each approval and its
   * ledger entry are written together. Returns how many were approved.
   */
  async approveDue(batchSize = 500, now = new Date()): Promise<number> {
    let total = 0;
    for (;;) {
      const approved = await this.dataSource.transaction(async (manager) => {
        const due: Conversion[] = await manager
          .createQueryBuilder(Conversion, 'c')
          .setLock('pessimistic_write')
          .setOnLocked('skip_locked')
          .where("c.status = 'pending' AND c.approve_after <= :now", { now })
          .orderBy('c.approve_after')
          .limit(batchSize)
          .getMany();
        const updated: Conversion[] = [];
        for (const conversion of due) {
          updated.push(await this.conversions.applyTransition(manager, conversion, 'approved', { type: 'system', id: null }, 'lock period over'));
        }
        await this.reconcileAllLocked(manager, updated);
        return due.length;
      });
      total += approved;
      if (approved > 0) this.outbox.notify();
      if (approved < batchSize) break;
    }
    if (total) this.logger.log(`approved ${total} conversion(s) past their lock period`);
    return total;
  }

  /** The kinds already posted for each conversion. */
  private async postedKinds(manager: EntityManager, conversionIds: string[]): Promise<Map<string, Set<string>>> {
    const rows: { cause_id: string; kind: string }[] = await manager.query(
      `SELECT cause_id, kind FROM journal_entries WHERE cause_type = $1 AND cause_id = ANY($2::text[])`,
      [CAUSE, conversionIds],
    );
    const byConversion = new Map<string, Set<string>>();
    for (const r of rows) byConversion.set(r.cause_id, (byConversion.get(r.cause_id) ?? new Set<string>()).add(r.kind));
    return byConversion;
  }

  /** The status each conversion had when it was (last) rejected or reversed. */
  private async statusesBeforeEnd(manager: EntityManager, conversionIds: string[]): Promise<Map<string, string>> {
    const rows: { conversion_id: string; from_status: string | null }[] = await manager.query(
      `SELECT DISTINCT ON (conversion_id) conversion_id, from_status FROM conversion_events
       WHERE conversion_id = ANY($1::uuid[]) AND to_status IN ('reversed', 'rejected')
       ORDER BY conversion_id, id DESC`,
      [conversionIds],
    );
    return new Map(rows.filter((r) => r.from_status !== null).map((r) => [r.conversion_id, r.from_status as string]));
  }
}

/**
 * The error for the conversions of `ids` that `failed` (from reconcileEach): one conversion's own
 * error, or one naming each of them; null when all of them were posted.
 */
export function postingFailure(ids: string[], failed: ReadonlyMap<string, Error>): Error | null {
  const unique = [...new Set(ids.map((id) => id.toLowerCase()))];
  const errors = unique.flatMap((id) => (failed.has(id) ? [{ id, error: failed.get(id) as Error }] : []));
  if (errors.length === 0) return null;
  if (unique.length === 1) return errors[0].error;
  return new Error(`could not post ${errors.map((f) => `conversion ${f.id} (${f.error.message})`).join('; ')}`);
}

/**
 * The entries an attributed conversion misses for its status, given the kinds already posted
 * for it and the status it had before it was rejected or reversed (if it was).
 */
export function missingPostings(conversion: CommissionFacts, posted: ReadonlySet<string>, statusBeforeEnd: string | null): PostingInput[] {
  const amounts: CommissionAmounts = {
    affiliateId: conversion.affiliateId as string,
    advertiserId: conversion.advertiserId,
    currency: conversion.currency as string,
    revenue: conversion.revenue,
    payout: conversion.payout,
  };
  const postings: PostingInput[] = [];
  const post = (kind: string, lines: PostingLine[]) => {
    if (lines.length) postings.push({ kind, causeType: CAUSE, causeId: conversion.id, lines, memo: `${conversion.goalKey} ${conversion.txnId}` });
  };
  const status = conversion.status;
  if (status === 'pending' || status === 'approved' || status === 'paid') {
    if (!posted.has(LEDGER_KINDS.commission)) post(LEDGER_KINDS.commission, commissionLines(amounts));
    if (status !== 'pending' && !posted.has(LEDGER_KINDS.approval)) post(LEDGER_KINDS.approval, approvalLines(amounts));
  } else if ((status === 'rejected' || status === 'reversed') && posted.has(LEDGER_KINDS.commission) && !posted.has(LEDGER_KINDS.reversal)) {
    // Undo from wherever the payout sits: paid out → clawback; approved (posted) → available; else pending.
    const from: ReversibleStatus = statusBeforeEnd === 'paid' ? 'paid' : posted.has(LEDGER_KINDS.approval) ? 'approved' : 'pending';
    post(LEDGER_KINDS.reversal, reversalLines(amounts, from));
  }
  return postings;
}
