import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager, FindOptionsWhere, In, IsNull } from 'typeorm';
import { AuthPrincipal } from '../../common/auth';
import { Page, paginate } from '../../common/pagination';
import { RunEngine, RunProgress } from '../../common/runs/run-engine';
import { Config } from '../../config/configuration';
import { updateReturning } from '../../database/sql';
import { UUID_PATTERN } from '../../common/validation/validators';
import { OutboxService } from '../../queue/outbox/outbox.service';
import { CommissionPostings, postingFacts } from '../conversions/commission-postings';
import { conversionsRepository } from '../conversions/conversions.repository';
import { LedgerService } from '../ledger/ledger.service';
import { LEDGER_KINDS, PayoutParty, payoutFailedLines, payoutLines } from '../ledger/ledger.postings';
import { ledgerRepository } from '../ledger/ledger.repository';
import { ListPayoutsQueryDto, RequestPayoutRunDto } from './dto/payouts.dto';
import { Payout, PayoutPreviewItem, PayoutRun } from './payout.entities';
import { PayoutsError } from './payouts.errors';
import { PayoutRail, RailEventOutcome, RailTransferResult, RailTransferReversal } from './rails/payout-rail';
import { PayoutRails } from './rails/payout-rails';

interface Eligible {
  affiliateId: string;
  rail: string;
  externalAccountId: string;
  amount: number;
  clawbackNetted: number;
}

const PLAN_CHUNK = 200;
const TRANSFER_CONCURRENCY = 8;
const PREVIEW_LIMIT = 1000;

/**
 * Payout runs, on the run engine (common/runs). A run plans first — each payout row, its ledger
 * entry (available → the rail's clearing account) and the conversions it pays are written
 * together — then transfers through each payout's rail, each idempotent per payout with a look-up
 * by our reference before any retry, so a killed worker resumes and nobody is paid twice.
 */
@Injectable()
export class PayoutRunsService {
  private readonly logger = new Logger(PayoutRunsService.name);
  private readonly defaultThreshold: number;
  private readonly engine: RunEngine<Payout>;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly rails: PayoutRails,
    private readonly ledger: LedgerService,
    private readonly postings: CommissionPostings,
    private readonly outbox: OutboxService,
    config: ConfigService<Config, true>,
  ) {
    this.defaultThreshold = config.get('app', { infer: true }).defaultPayoutThreshold;
    this.engine = new RunEngine<Payout>(dataSource, {
      table: 'payout_runs',
      stampsStart: true,
      concurrency: TRANSFER_CONCURRENCY,
      noun: 'payout',
      beforePlan: async (runId) => this.settleLeftovers((await this.get(runId)).currency),
      plan: (runId) => this.plan(runId),
      open: (runId) => this.dataSource.getRepository(Payout).find({ where: { runId, status: In(['pending', 'transferring']) }, order: { id: 'ASC' } }),
      execute: (payout) => this.transfer(payout),
      // The rail unreachable, or its answer not recorded (a refusal is settled inside transfer).
      failed: async () => 'retry',
      progress: async (runId) => {
        const run = await this.get(runId);
        return { done: run.doneCount + run.failedCount, total: run.totalCount };
      },
      abandon: (payout, reason) => this.settleAbandoned(payout, reason),
    });
  }

  /** Starts (or joins) the currency's live run; a dry run only previews. */
  async request(actor: AuthPrincipal, dto: RequestPayoutRunDto): Promise<PayoutRun> {
    const rails = this.rails.all().filter((rail) => rail.supportsCurrency(dto.currency));
    if (!rails.length) throw PayoutsError.currencyNotSupported(dto.currency);
    if (dto.dryRun) return this.preview(actor, dto.currency);
    for (const rail of rails) rail.assertReady(); // fail now, with the clear 503, if a rail is not configured
    const run = await this.dataSource.transaction(async (manager) => {
      // Inserts the currency's run or, in the same statement, joins the live one (a no-op update
      // that returns it): a separate look-up could miss a run that completed in between.
      const [{ id, created }]: { id: string; created: boolean }[] = await manager.query(
        `INSERT INTO payout_runs (currency, status, requested_by) VALUES ($1, 'queued', $2)
         ON CONFLICT (currency) WHERE status IN ('queued', 'running') AND NOT dry_run DO UPDATE SET currency = EXCLUDED.currency
         RETURNING id, (xmax = 0) AS created`,
        [dto.currency, actor.id],
      );
      if (created) await this.outbox.enqueue(manager, 'payout_run.requested', id);
      return manager.findOneByOrFail(PayoutRun, { id });
    });
    this.outbox.notify();
    return run;
  }

  /** Who is due a payout in the currency now, and how much (what a run started now would pay), without recording anything. */
  async due(currency: string): Promise<PayoutPreviewItem[]> {
    const eligible = await this.eligible(this.dataSource.manager, currency);
    return eligible.map(({ affiliateId, amount, clawbackNetted }) => ({ affiliateId, amount, clawbackNetted }));
  }

  /** The latest runs (live and previews), newest first, for finance's overview. */
  listRuns(limit: number): Promise<PayoutRun[]> {
    return this.dataSource.getRepository(PayoutRun).find({ order: { createdAt: 'DESC' }, take: limit });
  }

  async get(id: string): Promise<PayoutRun> {
    const run = await this.dataSource.getRepository(PayoutRun).findOneBy({ id });
    if (!run) throw PayoutsError.runNotFound();
    return run;
  }

  listPayouts(actor: AuthPrincipal, query: ListPayoutsQueryDto): Promise<Page<Payout>> {
    const qb = this.dataSource.getRepository(Payout).createQueryBuilder('p');
    const affiliateId = actor.role === 'affiliate' ? actor.id : query.affiliateId;
    if (affiliateId) qb.andWhere('p.affiliate_id = :affiliateId', { affiliateId });
    if (query.runId) qb.andWhere('p.run_id = :runId', { runId: query.runId });
    if (query.status) qb.andWhere('p.status = :status', { status: query.status });
    if (query.currency) qb.andWhere('p.currency = :currency', { currency: query.currency });
    if (query.from) qb.andWhere('p.created_at >= :from', { from: query.from });
    if (query.to) qb.andWhere('p.created_at < :to', { to: query.to });
    return paginate(qb, 'p', query);
  }

  /** The job. Safe to run again at any point: planning happens once, paid payouts are skipped. */
  async execute(runId: string, onProgress: (p: RunProgress) => Promise<void> = async () => undefined): Promise<PayoutRun> {
    await this.engine.execute(runId, onProgress);
    const run = await this.get(runId);
    this.logger.log(`payout run ${runId} completed: ${run.doneCount} paid, ${run.failedCount} failed, ${run.doneAmount} ${run.currency} minor units`);
    return run;
  }

  /**
   * Ends a run for good (its job ran out of attempts). Each payout it leaves open is settled
   * against its rail first, so no money stays stranded between the balance and the rail: a
   * transfer found by our reference marks it paid, none fails it with the money back. A payout
   * the rail cannot be asked about now stays open for the currency's next run to settle.
   */
  markFailed(runId: string, reason: string): Promise<void> {
    return this.engine.giveUp(runId, reason);
  }

  /** A payout whose run gave up: paid if its rail has its transfer, otherwise failed with the money back. */
  private async settleAbandoned(payout: Payout, reason: string): Promise<void> {
    const rail = this.rails.get(payout.rail);
    const transfer = await rail.findTransfer(payout.id);
    if (transfer) await this.markPaid(payout, transfer.id);
    else await this.fail(payout.id, 'payout_run_gave_up', `the payout run gave up (${reason}) and ${rail.label} has no transfer for this payout`);
  }

  /** Payouts of earlier given-up runs of the currency that could not be settled then; an error retries the job. */
  private async settleLeftovers(currency: string): Promise<void> {
    const leftovers = await this.dataSource
      .getRepository(Payout)
      .createQueryBuilder('p')
      .where(`p.currency = :currency AND p.status IN ('pending', 'transferring')`, { currency })
      .andWhere(`EXISTS (SELECT 1 FROM payout_runs r WHERE r.id = p.run_id AND r.status = 'failed')`)
      .orderBy('p.id')
      .getMany();
    for (const payout of leftovers) await this.settleAbandoned(payout, 'an earlier run');
  }

  private async preview(actor: AuthPrincipal, currency: string): Promise<PayoutRun> {
    const eligible = await this.eligible(this.dataSource.manager, currency);
    const preview: PayoutPreviewItem[] = eligible.slice(0, PREVIEW_LIMIT).map(({ affiliateId, amount, clawbackNetted }) => ({ affiliateId, amount, clawbackNetted }));
    const repo = this.dataSource.getRepository(PayoutRun);
    return repo.save(
      repo.create({
        currency,
        dryRun: true,
        status: 'completed',
        requestedBy: actor.id,
        totalCount: eligible.length,
        totalAmount: eligible.reduce((sum, e) => sum + e.amount, 0),
        preview,
        plannedAt: new Date(),
        finishedAt: new Date(),
      }),
    );
  }

  /** Affiliates due a payout, for what their rail can carry of their balance (the rest stays in it). */
  private async eligible(manager: EntityManager, currency: string): Promise<(Eligible & { threshold: number })[]> {
    const rows = await ledgerRepository.payoutCandidates(manager, currency, this.defaultThreshold);
    return rows
      .map((r) => ({ ...r, amount: this.rails.get(r.rail).carriable(Number(r.amount), currency), clawbackNetted: Number(r.clawbackNetted), threshold: Number(r.threshold) }))
      .filter((r) => r.amount >= Math.max(r.threshold, 1));
  }

  /** Writes every payout of the run, in chunks, once. */
  private async plan(runId: string): Promise<void> {
    const run = await this.get(runId);
    if (run.plannedAt) return;
    const candidates = await this.eligible(this.dataSource.manager, run.currency);
    for (let i = 0; i < candidates.length; i += PLAN_CHUNK) {
      await this.dataSource.transaction(async (manager) => {
        const chunk = candidates.slice(i, i + PLAN_CHUNK);
        // The chunk's locks up front, in the lock order of ledger.service.ts (conversions, then
        // affiliate accounts, each in one statement and id order): planning one affiliate after
        // another would otherwise hold one's accounts while waiting for the next one's conversions.
        const affiliateIds = chunk.map((c) => c.affiliateId);
        const payable = await conversionsRepository.lockPayable(manager, affiliateIds, run.currency);
        // A conversion recorded approved (a 0-day lock) may not be posted yet (its commission job
        // has not run): post it now, so the payout that marks it paid also pays it.
        if (payable.length) await this.postings.reconcileLocked(manager, (await conversionsRepository.lockForPosting(manager, payable)).map(postingFacts));
        await this.ledger.lockAffiliateAccounts(manager, affiliateIds, run.currency);
        for (const candidate of chunk) await this.planOne(manager, run, candidate);
      });
    }
    await this.dataSource.query(
      `UPDATE payout_runs r SET planned_at = now(),
         total_count = (SELECT count(*) FROM payouts WHERE run_id = r.id),
         total_amount = (SELECT coalesce(sum(amount), 0) FROM payouts WHERE run_id = r.id)
       WHERE id = $1`,
      [runId],
    );
  }

  /**
   * One affiliate's payout. Locks its approved conversions, then its ledger accounts (the lock
   * order of ledger.service.ts; plan has taken them for the whole chunk already), and re-reads
   * the balance under those locks: a reversal racing the run either lands before (smaller
   * payout) or after (a clawback).
   */
  private async planOne(manager: EntityManager, run: PayoutRun, candidate: Eligible & { threshold: number }): Promise<void> {
    await conversionsRepository.lockPayable(manager, [candidate.affiliateId], run.currency);
    const [balance] = await this.ledger.balances(manager, candidate.affiliateId, run.currency, { lock: true });
    const clawbackNetted = balance?.clawback ?? 0;
    // Only what the rail can carry is paid out (and posted): the rest stays in the available balance.
    const rail = this.rails.get(candidate.rail);
    const owed = (balance?.available ?? 0) - clawbackNetted;
    const amount = owed > 0 ? rail.carriable(owed, run.currency) : owed;
    if (amount < Math.max(candidate.threshold, 1)) return;
    const inserted: { id: string }[] = await manager.query(
      `INSERT INTO payouts (run_id, affiliate_id, currency, amount, clawback_netted, status, rail, external_account_id)
       VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7) ON CONFLICT (run_id, affiliate_id) DO NOTHING RETURNING id`,
      [run.id, candidate.affiliateId, run.currency, amount, clawbackNetted, rail.name, candidate.externalAccountId],
    );
    if (!inserted.length) return;
    const payoutId = inserted[0].id;
    await this.ledger.post(manager, {
      kind: LEDGER_KINDS.payout,
      causeType: 'payout',
      causeId: payoutId,
      lines: payoutLines({ affiliateId: candidate.affiliateId, currency: run.currency, clearing: rail.clearingAccount }, amount, clawbackNetted),
      memo: `payout run ${run.id}`,
    });
    await conversionsRepository.moveForPayout(manager, { transition: 'payoutPaid', payoutId, affiliateId: candidate.affiliateId, currency: run.currency });
  }

  private async transfer(payout: Payout): Promise<void> {
    const rail = this.rails.get(payout.rail);
    rail.assertReady();
    const [claimed] = await updateReturning<{ attempts: number }>(
      this.dataSource,
      `UPDATE payouts SET status = 'transferring', attempts = attempts + 1 WHERE id = $1 AND status IN ('pending', 'transferring') RETURNING attempts`,
      [payout.id],
    );
    if (!claimed) return;
    // A retry may follow a transfer the rail made but we never recorded (lost answer, expired key,
    // a database error after the rail's answer): look before creating. A failing look-up is retried.
    const existing = claimed.attempts > 1 ? await rail.findTransfer(payout.id) : undefined;
    if (existing) return this.markPaid(payout, existing.id);
    let sent: RailTransferResult;
    try {
      sent = await rail.transfer(payout);
    } catch (error) {
      // Only the rail saying no to the create itself proves no money moved; anything else is retried.
      if (!rail.isDefinitiveRefusal(error)) throw error;
      const { code, message } = rail.describeRefusal(error);
      await this.fail(payout.id, code, message);
      return;
    }
    if ('notCarriable' in sent) {
      // Planned before amounts were rounded to what the rail carries: returned whole and planned again by the next run.
      await this.fail(payout.id, 'amount_not_carriable', `${rail.label} cannot transfer ${payout.amount} ${payout.currency} minor units exactly`);
      return;
    }
    // Outside the try: a failure to record a transfer the rail made must never return the money.
    await this.markPaid(payout, sent.transferId);
  }

  /** Records the transfer; the rail's events about it that arrived before (kept unprocessed) are applied again. */
  private async markPaid(payout: Payout, transferId: string): Promise<void> {
    const reapplied = await this.dataSource.transaction(async (manager) => {
      const [updated] = await updateReturning(
        manager,
        `UPDATE payouts SET status = 'paid', external_id = $2, paid_at = now() WHERE id = $1 AND status IN ('pending', 'transferring') RETURNING amount`,
        [payout.id, transferId],
      );
      if (!updated) return 0;
      await manager.query(`UPDATE payout_runs SET done_count = done_count + 1, done_amount = done_amount + $2 WHERE id = $1`, [payout.runId, payout.amount]);
      return this.rails.get(payout.rail).replayDeferred(manager, payout.id, transferId);
    });
    if (reapplied) this.outbox.notify();
  }

  /** A payout that will not happen: its money goes back to the affiliate's balance, its conversions back to approved. */
  private fail(payoutId: string, code: string, message: string): Promise<boolean> {
    return this.dataSource.transaction((manager) => this.failIn(manager, payoutId, code, message));
  }

  /**
   * Returns what is still out of the payout (partial reversals came back already) and the
   * clawback it netted. `reversedAmount`, when the rail reversed the whole transfer, is recorded.
   */
  private async failIn(manager: EntityManager, payoutId: string, code: string, message: string, reversedAmount?: number): Promise<boolean> {
    const payout = await manager.findOne(Payout, { where: { id: payoutId }, lock: { mode: 'pessimistic_write' } });
    if (!payout || payout.status === 'failed') return false;
    // The lock order of ledger.service.ts: the payout's conversions before the affiliate's accounts.
    await conversionsRepository.lockPaidBy(manager, payoutId);
    await manager.update(
      Payout,
      { id: payoutId },
      {
        status: 'failed',
        failureCode: code.slice(0, 100),
        failureMessage: message.slice(0, 500),
        failedAt: new Date(),
        ...(reversedAmount === undefined ? {} : { reversedAmount }),
      },
    );
    await this.ledger.post(manager, {
      kind: LEDGER_KINDS.payoutReversal,
      causeType: 'payout',
      causeId: payoutId,
      lines: payoutFailedLines(this.partyOf(payout), payout.amount - payout.reversedAmount, payout.clawbackNetted),
      memo: code,
    });
    await conversionsRepository.moveForPayout(manager, { transition: 'payoutFailed', payoutId });
    await manager.query(`UPDATE payout_runs SET failed_count = failed_count + 1 WHERE id = $1`, [payout.runId]);
    this.logger.warn(`payout ${payoutId} failed (${code}): the money is back in the affiliate's balance`);
    return true;
  }

  /** The ledger party of a payout: its affiliate, currency and its rail's clearing account. */
  private partyOf(payout: Payout): PayoutParty {
    return { affiliateId: payout.affiliateId, currency: payout.currency, clearing: this.rails.get(payout.rail).clearingAccount };
  }

  /**
   * A rail reports reversals of a transfer, partial ones too, with the transfer's running reversed
   * amount. Only what is newly reversed goes back to the balance, as one ledger entry per reversal
   * (keyed by the payout and the reversal id); the payout stays paid, with its conversions, until
   * the whole transfer is reversed: then it fails like a refused transfer.
   */
  async transferReversed(manager: EntityManager, rail: PayoutRail, reversal: RailTransferReversal): Promise<RailEventOutcome> {
    const payout = await this.payoutOfTransfer(manager, rail, reversal);
    if (!payout) return { deferred: `no payout for transfer ${reversal.transferId} yet` };
    if (payout.status === 'failed') return 'already failed';
    const reversed = Math.min(reversal.amountReversed, payout.amount);
    if (reversal.fullyReversed || reversed >= payout.amount) {
      await this.failIn(manager, payout.id, 'transfer_reversed', `${rail.label} transfer ${reversal.transferId} was reversed`, payout.amount);
      return 'payout failed, money returned';
    }
    const newly = reversed - payout.reversedAmount;
    // An older event arriving after a newer one, or a replay: nothing new.
    if (newly <= 0) return 'nothing newly reversed';
    await this.ledger.post(manager, {
      kind: LEDGER_KINDS.payoutReversal,
      causeType: 'payout',
      causeId: `${payout.id}:${reversal.reversalId}`,
      lines: payoutFailedLines(this.partyOf(payout), newly),
      memo: `partial reversal ${reversal.reversalId} of ${rail.label} transfer ${reversal.transferId}`,
    });
    await manager.update(Payout, { id: payout.id }, { reversedAmount: reversed });
    return `partly reversed: ${newly} returned`;
  }

  /** The payout a transfer pays, locked: by the transfer id we stored or, before we did, by the payout id our reference names. */
  private async payoutOfTransfer(manager: EntityManager, rail: PayoutRail, reversal: RailTransferReversal): Promise<Payout | null> {
    const byReference = reversal.payoutId;
    const transfer = { rail: rail.name, externalId: reversal.transferId };
    const where: FindOptionsWhere<Payout>[] = [transfer];
    if (byReference && UUID_PATTERN.test(byReference)) where.push({ id: byReference, rail: rail.name, externalId: IsNull() }, { id: byReference, ...transfer });
    return manager.findOne(Payout, { where, lock: { mode: 'pessimistic_write' } });
  }
}
