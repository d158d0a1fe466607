import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { AuthPrincipal } from '../../common/auth';
import { Page, paginate } from '../../common/pagination';
import { GroupCommit } from '../../common/batching/group-commit';
import { RunEngine, RunProgress } from '../../common/runs/run-engine';
import { Config } from '../../config/configuration';
import { OutboxService } from '../../queue/outbox/outbox.service';
import { CommissionPostings, postingFacts } from '../conversions/commission-postings';
import { conversionsRepository } from '../conversions/conversions.repository';
import { LedgerService } from '../ledger/ledger.service';
import { LEDGER_KINDS, PayoutParty, payoutFailedLines, payoutLines } from '../ledger/ledger.postings';
import { ledgerRepository } from '../ledger/ledger.repository';
import { principalsRepository } from '../principals/principals.repository';
import { WebhooksService } from '../webhooks/webhooks.service';
import { ListPayoutsQueryDto, RequestPayoutRunDto } from './dto/payouts.dto';
import { Payout, PayoutPreviewItem, PayoutRun } from './payout.entities';
import { EligiblePayee, eligiblePayees, payableAffiliates } from './payout-eligibility';
import { TRANSFER_CONCURRENCY } from './payout-limits';
import { payoutsRepository } from './payouts.repository';
import { PayoutsError } from './payouts.errors';
import { PayoutRail, RailEventOutcome, RailTransferResult, RailTransferReversal } from './rails/payout-rail';
import { PayoutRails } from './rails/payout-rails';

const PLAN_CHUNK = 200;
/**
 * Payouts in progress at once: more than the transfers in flight (TRANSFER_CONCURRENCY, per rail,
 * see `paced`), so the rail's requests keep going while other payouts wait for their record.
 */
const PAYOUTS_IN_PROGRESS = 4 * TRANSFER_CONCURRENCY;
/** Payouts claimed for their transfer in one statement, ahead of their transfers. */
const CLAIM_WINDOW = 64;
/** Payouts recorded paid in one transaction at most (those whose transfers came back meanwhile). */
const PAID_BATCH = 100;
const PREVIEW_LIMIT = 1000;
/** A request the rail rate-limited (so did nothing) is sent again after a pause, this many times at most (then the run's job retries it). */
const RATE_LIMIT_RETRIES = 20;
const BACKOFF_BASE_MS = 250;
const BACKOFF_MAX_MS = 8000;
/** After this long without a 429, a rail gets its full TRANSFER_CONCURRENCY back. */
const RECOVER_MS = 2000;

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
  private readonly engine: RunEngine<Payout, number>;
  /** Transfers recorded paid in groups: those that came back while a group was being written go in the next one. */
  /** Transfers recorded paid together; when a group fails each is recorded on its own, so only a payout whose own record fails meets the error (and is retried with the run). */
  private readonly paid = new GroupCommit<{ payout: Payout; transferId: string }, boolean>(
    async (items) => {
      const paid = await this.recordPaid(items);
      return items.map((item) => paid.has(item.payout.id));
    },
    { maxBatch: PAID_BATCH },
  );
  /** Per rail: the pause its 429s asked for, shared by every transfer in flight. */
  private readonly backoffs = new Map<string, Backoff>();

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly rails: PayoutRails,
    private readonly ledger: LedgerService,
    private readonly postings: CommissionPostings,
    private readonly outbox: OutboxService,
    private readonly webhooks: WebhooksService,
    config: ConfigService<Config, true>,
  ) {
    this.defaultThreshold = config.get('app', { infer: true }).defaultPayoutThreshold;
    this.engine = new RunEngine<Payout, number>(dataSource, {
      table: 'payout_runs',
      stampsStart: true,
      concurrency: PAYOUTS_IN_PROGRESS,
      noun: 'payout',
      beforePlan: async (runId) => this.settleLeftovers((await this.get(runId)).currency),
      plan: (runId) => this.plan(runId),
      open: (runId) => payoutsRepository.openPayouts(this.dataSource.manager, runId),
      // Claimed a window at a time (each claim counts an attempt: one that never reached the rail
      // only costs a look-up before its transfer, if the worker dies first).
      window: CLAIM_WINDOW,
      prepare: (payouts) =>
        payoutsRepository.claimManyForTransfer(
          this.dataSource,
          payouts.map((p) => p.id),
        ),
      execute: (payout, attempts) => this.transfer(payout, attempts),
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
      const { id, created } = await payoutsRepository.startOrJoinRun(manager, dto.currency, actor.id);
      if (created) await this.outbox.enqueue(manager, 'payout_run.requested', id);
      return (await payoutsRepository.findRun(manager, id)) as PayoutRun;
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
    const run = await payoutsRepository.findRun(this.dataSource.manager, id);
    if (!run) throw PayoutsError.runNotFound();
    return run;
  }

  listPayouts(actor: AuthPrincipal, query: ListPayoutsQueryDto): Promise<Page<Payout>> {
    const qb = payoutsRepository.listQuery(this.dataSource.manager);
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
    const leftovers = await payoutsRepository.leftovers(this.dataSource.manager, currency);
    for (const payout of leftovers) await this.settleAbandoned(payout, 'an earlier run');
  }

  private async preview(actor: AuthPrincipal, currency: string): Promise<PayoutRun> {
    const eligible = await this.eligible(this.dataSource.manager, currency);
    const preview: PayoutPreviewItem[] = eligible.slice(0, PREVIEW_LIMIT).map(({ affiliateId, amount, clawbackNetted }) => ({ affiliateId, amount, clawbackNetted }));
    const totalAmount = eligible.reduce((sum, e) => sum + e.amount, 0);
    return payoutsRepository.saveDryRun(this.dataSource.manager, currency, actor.id, eligible.length, totalAmount, preview);
  }

  /**
   * Affiliates due a payout, for what their rail can carry of their balance (the rest stays in
   * it): payouts enabled on their destination (ours), active (principals), with available − clawback
   * at their threshold or above (the ledger). In id order.
   */
  private async eligible(manager: EntityManager, currency: string): Promise<EligiblePayee[]> {
    const destinations = await payoutsRepository.enabledDestinations(manager);
    const thresholds = await principalsRepository.activeAffiliateThresholds(
      manager,
      destinations.map((d) => d.affiliateId),
    );
    const payable = payableAffiliates(destinations, thresholds, this.defaultThreshold);
    const candidates = await ledgerRepository.payoutCandidates(manager, currency, payable);
    return eligiblePayees(candidates, payable, (rail, amount) => this.rails.get(rail).carriable(amount, currency));
  }

  /** Writes every payout of the run, in chunks, once. */
  private async plan(runId: string): Promise<void> {
    const run = await this.get(runId);
    if (run.plannedAt) return;
    const candidates = await this.eligible(this.dataSource.manager, run.currency);
    for (let i = 0; i < candidates.length; i += PLAN_CHUNK) {
      await this.dataSource.transaction((manager) => this.planChunk(manager, run, candidates.slice(i, i + PLAN_CHUNK)));
    }
    await payoutsRepository.markRunPlanned(this.dataSource.manager, runId);
  }

  /**
   * A chunk of affiliates' payouts, in a few statements whatever its size. The locks come first,
   * in the lock order of ledger.service.ts (conversions, then affiliate accounts, each in one
   * statement and id order), and the balances are read under them: a reversal racing the run
   * either lands before (smaller payout) or after (a clawback). Each payout row, its ledger entry
   * (available → the rail's clearing account) and the conversions it pays are written together.
   */
  private async planChunk(manager: EntityManager, run: PayoutRun, chunk: EligiblePayee[]): Promise<void> {
    const affiliateIds = chunk.map((c) => c.affiliateId);
    const payable = await conversionsRepository.lockPayable(manager, affiliateIds, run.currency);
    // A conversion recorded approved (a 0-day lock) may not be posted yet (its commission job
    // has not run): post it now, so the payout that marks it paid also pays it.
    if (payable.length) await this.postings.postMissingLocked(manager, (await conversionsRepository.lockForPosting(manager, payable)).map(postingFacts));
    const balances = await this.ledger.lockPayoutBalances(manager, affiliateIds, run.currency);
    const planned = chunk.flatMap((candidate) => {
      const balance = balances.get(candidate.affiliateId);
      const clawbackNetted = balance?.clawback ?? 0;
      // Only what the rail can carry is paid out (and posted): the rest stays in the available balance.
      const rail = this.rails.get(candidate.rail);
      const owed = (balance?.available ?? 0) - clawbackNetted;
      const amount = owed > 0 ? rail.carriable(owed, run.currency) : owed;
      if (amount < Math.max(candidate.threshold, 1)) return [];
      return [{ affiliateId: candidate.affiliateId, amount, clawbackNetted, rail, externalAccountId: candidate.externalAccountId }];
    });
    const ids = await payoutsRepository.insertPayouts(
      manager,
      run.id,
      run.currency,
      planned.map((p) => ({ ...p, rail: p.rail.name })),
    );
    const inserted = planned.flatMap((p) => (ids.has(p.affiliateId) ? [{ ...p, payoutId: ids.get(p.affiliateId) as string }] : []));
    await this.ledger.postMany(
      manager,
      inserted.map((p) => ({
        kind: LEDGER_KINDS.payout,
        causeType: 'payout' as const,
        causeId: p.payoutId,
        lines: payoutLines({ affiliateId: p.affiliateId, currency: run.currency, clearing: p.rail.clearingLedgerAccount }, p.amount, p.clawbackNetted),
        memo: `payout run ${run.id}`,
      })),
    );
    await conversionsRepository.movePaidForPayouts(manager, run.currency, inserted);
  }

  /** One payout's transfer; `attempts` is its claim's attempt number (undefined: no longer open). */
  private async transfer(payout: Payout, attempts: number | undefined): Promise<void> {
    if (attempts === undefined) return;
    const rail = this.rails.get(payout.rail);
    rail.assertReady();
    // A retry may follow a transfer the rail made but we never recorded (lost answer, expired key,
    // a database error after the rail's answer): look before creating. A failing look-up is retried.
    const existing = attempts > 1 ? await this.paced(rail, () => rail.findTransfer(payout.id)) : undefined;
    if (existing) return this.markPaid(payout, existing.id);
    let sent: RailTransferResult;
    try {
      // A 429 did nothing on the rail: the same request (same idempotency key) goes again after the pause.
      sent = await this.paced(rail, () => rail.transfer(payout));
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

  /**
   * A request to the rail: at most TRANSFER_CONCURRENCY of them in flight per rail (whatever the
   * runs), fewer after a 429, which also pauses every request to the rail (its `Retry-After`, else
   * exponential backoff with jitter); the 429'd request goes again after the pause.
   */
  private async paced<T>(rail: PayoutRail, request: () => Promise<T>): Promise<T> {
    let backoff = this.backoffs.get(rail.name);
    if (!backoff) this.backoffs.set(rail.name, (backoff = new Backoff(BACKOFF_BASE_MS, BACKOFF_MAX_MS, TRANSFER_CONCURRENCY)));
    for (let limited = 0; ; limited++) {
      await backoff.acquire();
      try {
        const answer = await request();
        backoff.passed();
        return answer;
      } catch (error) {
        const wait = rail.rateLimited(error);
        if (wait === undefined || limited >= RATE_LIMIT_RETRIES) throw error;
        const ms = backoff.limited(wait);
        this.logger.warn(`${rail.label} rate-limited a request: every request to it waits ${Math.round(ms)} ms`);
      } finally {
        backoff.release();
      }
    }
  }

  /** Records the transfer (in a group with others that came back meanwhile); the rail's events about it that arrived before (kept unprocessed) are applied again. */
  private async markPaid(payout: Payout, transferId: string): Promise<void> {
    await this.paid.submit({ payout, transferId });
  }

  /** Records transfers in one transaction: the payouts paid and counted on their runs, their affiliates' webhooks, deferred events replayed. */
  private async recordPaid(items: { payout: Payout; transferId: string }[]): Promise<Set<string>> {
    const paid = await this.dataSource.transaction(async (manager) => {
      const rows = await payoutsRepository.markManyPaid(
        manager,
        items.map((i) => ({ payoutId: i.payout.id, externalId: i.transferId })),
      );
      const paidAt = new Map(rows.map((r) => [r.id, r.paidAt]));
      const done = items.filter((i) => paidAt.has(i.payout.id));
      // The affiliates' payout.paid webhooks, for those with an endpoint that wants it.
      const subscribed = await this.webhooks.subscribers(manager, [...new Set(done.map((i) => i.payout.affiliateId))], 'payout.paid');
      await this.outbox.enqueueMany(
        manager,
        done
          .filter((i) => subscribed.has(i.payout.affiliateId))
          .map((i) => this.announcement({ ...i.payout, status: 'paid', externalId: i.transferId, paidAt: new Date(paidAt.get(i.payout.id) as Date) }, 'payout.paid')),
      );
      for (const rail of new Set(done.map((i) => i.payout.rail))) {
        await this.rails.get(rail).replayDeferred(
          manager,
          done.filter((i) => i.payout.rail === rail).map((i) => ({ payoutId: i.payout.id, transferId: i.transferId })),
        );
      }
      return new Set(paidAt.keys());
    });
    if (paid.size) this.outbox.notify();
    return paid;
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
    const payout = await payoutsRepository.lockPayout(manager, payoutId);
    if (!payout || payout.status === 'failed') return false;
    // The lock order of ledger.service.ts: the payout's conversions before the affiliate's ledger accounts.
    await conversionsRepository.lockPaidBy(manager, payoutId);
    await payoutsRepository.markFailed(manager, payoutId, { code, message, reversedAmount });
    await this.ledger.post(manager, {
      kind: LEDGER_KINDS.payoutReversal,
      causeType: 'payout',
      causeId: payoutId,
      lines: payoutFailedLines(this.partyOf(payout), payout.amount - payout.reversedAmount, payout.clawbackNetted),
      memo: code,
    });
    await conversionsRepository.moveForPayout(manager, { transition: 'payoutFailed', payoutId });
    await payoutsRepository.countRunFailed(manager, payout.runId);
    await this.announce(manager, { ...payout, status: 'failed', failureCode: code.slice(0, 100), failureMessage: message.slice(0, 500) }, 'payout.failed');
    this.logger.warn(`payout ${payoutId} failed (${code}): the money is back in the affiliate's balance`);
    return true;
  }

  /** The affiliate's outgoing webhook (payout.paid, payout.failed), in the transaction that records the outcome. */
  private announce(manager: EntityManager, payout: Payout, type: 'payout.paid' | 'payout.failed'): Promise<void> {
    const { topic, aggregateId, payload } = this.announcement(payout, type);
    return this.outbox.enqueue(manager, topic, aggregateId, payload);
  }

  private announcement(payout: Payout, type: 'payout.paid' | 'payout.failed') {
    const data = {
      id: payout.id,
      runId: payout.runId,
      amount: payout.amount,
      currency: payout.currency,
      clawbackNetted: payout.clawbackNetted,
      status: payout.status,
      rail: payout.rail,
      transferId: payout.externalId,
      paidAt: payout.paidAt?.toISOString() ?? null,
      failureCode: payout.failureCode ?? null,
      failureMessage: payout.failureMessage ?? null,
    };
    return { topic: 'webhook.dispatch' as const, aggregateId: payout.id, payload: { principalId: payout.affiliateId, type, data } };
  }

  /** The ledger party of a payout: its affiliate, currency and its rail's clearing account. */
  private partyOf(payout: Payout): PayoutParty {
    return { affiliateId: payout.affiliateId, currency: payout.currency, clearing: this.rails.get(payout.rail).clearingLedgerAccount };
  }

  /**
   * A rail reports reversals of a transfer, partial ones too, with the transfer's running reversed
   * amount. Only what is newly reversed goes back to the balance, as one ledger entry per reversal
   * (keyed by the payout and the reversal id); the payout stays paid, with its conversions, until
   * the whole transfer is reversed: then it fails like a refused transfer.
   */
  async transferReversed(manager: EntityManager, rail: PayoutRail, reversal: RailTransferReversal): Promise<RailEventOutcome> {
    const payout = await payoutsRepository.lockByTransfer(manager, rail.name, reversal.transferId, reversal.payoutId);
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
    await payoutsRepository.setReversedAmount(manager, payout.id, reversed);
    return `partly reversed: ${newly} returned`;
  }
}

/**
 * How a run paces a rail that answers 429, shared by every request to it. A 429 while no pause is
 * on starts one (the rail's `Retry-After`, else base × 2^(strikes − 1) with jitter, capped); 429s
 * of requests already in flight only extend it. It also halves the requests let in flight (never
 * below one), which grow back by one per `allowed` answers that pass (additive increase,
 * multiplicative decrease): the run settles near the rate the rail allows instead of fighting it.
 */
class Backoff {
  private until = 0;
  private strikes = 0;
  private inFlight = 0;
  private allowed: number;
  private passedSinceGrowth = 0;
  private limitedAt = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    private readonly baseMs: number,
    private readonly maxMs: number,
    private readonly maxInFlight: number,
  ) {
    this.allowed = maxInFlight;
  }

  /** Waits out the pause and for a place among the requests allowed in flight; `release` gives it back. */
  async acquire(): Promise<void> {
    // A quiet spell (no 429 for RECOVER_MS): the limiter's window has long refilled, so all of them again.
    if (this.allowed < this.maxInFlight && Date.now() - this.limitedAt >= RECOVER_MS) {
      this.allowed = this.maxInFlight;
      for (const wake of this.waiting.splice(0)) wake();
    }
    for (;;) {
      const wait = this.until - Date.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      else if (this.inFlight >= this.allowed) await new Promise<void>((resolve) => this.waiting.push(resolve));
      else break;
    }
    this.inFlight++;
  }

  release(): void {
    this.inFlight--;
    this.waiting.shift()?.();
  }

  /** A 429; answers the pause now on, in ms. */
  limited(retryAfterMs: number | null): number {
    const now = Date.now();
    this.limitedAt = now;
    if (now >= this.until) {
      this.strikes++;
      this.allowed = Math.max(1, Math.floor(this.allowed / 2));
      this.passedSinceGrowth = 0;
    }
    const ms = retryAfterMs ?? Math.min(this.baseMs * 2 ** (this.strikes - 1), this.maxMs) * (0.5 + Math.random() / 2);
    this.until = Math.max(this.until, now + ms);
    return this.until - now;
  }

  passed(): void {
    this.strikes = 0;
    if (this.allowed < this.maxInFlight && ++this.passedSinceGrowth >= this.allowed) {
      this.allowed++;
      this.passedSinceGrowth = 0;
      this.waiting.shift()?.();
    }
  }
}
