import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import Stripe from 'stripe';
import { DataSource, EntityManager, FindOptionsWhere, In, IsNull } from 'typeorm';
import { AuthPrincipal } from '../../common/auth';
import { Page, paginate } from '../../common/pagination';
import { Config } from '../../config/configuration';
import { updateReturning } from '../../database/sql';
import { isDefinitiveRefusal, StripeClient } from '../../integrations/stripe/stripe.client';
import { carriableMinor, fromStripeAmount, isStripeCurrency, toStripeAmount } from '../../integrations/stripe/stripe-amounts';
import { StripeEventOutcome, StripeEventsService } from '../../integrations/stripe/stripe-events.service';
import { UUID_PATTERN } from '../../common/validation/validators';
import { OutboxService } from '../../queue/outbox/outbox.service';
import { LedgerService } from '../ledger/ledger.service';
import { LEDGER_KINDS, payoutFailedLines, payoutLines } from '../ledger/ledger.postings';
import { ListPayoutsQueryDto, RequestPayoutRunDto } from './dto/payouts.dto';
import { Payout, PayoutPreviewItem, PayoutRun } from './payout.entities';
import { PayoutsError } from './payouts.errors';

interface Eligible {
  affiliateId: string;
  stripeAccountId: string;
  amount: number;
  clawbackNetted: number;
}

const PLAN_CHUNK = 200;
const TRANSFER_CONCURRENCY = 8;
const PREVIEW_LIMIT = 1000;

/** Affiliates due a payout in `currency`: payouts enabled, active, available − clawback ≥ threshold. */
const ELIGIBLE = `
  SELECT p.id AS "affiliateId", pa.stripe_account_id AS "stripeAccountId",
         (-av.balance - coalesce(cb.balance, 0))::bigint AS amount, coalesce(cb.balance, 0)::bigint AS "clawbackNetted",
         coalesce(p.payout_threshold, $2)::bigint AS threshold
    FROM principals p
    JOIN payout_accounts pa ON pa.affiliate_id = p.id AND pa.payouts_enabled
    JOIN ledger_accounts av ON av.owner_id = p.id AND av.type = 'affiliate_available' AND av.currency = $1
    LEFT JOIN ledger_accounts cb ON cb.owner_id = p.id AND cb.type = 'affiliate_clawback' AND cb.currency = $1
   WHERE p.role = 'affiliate' AND p.status = 'active'
     AND (-av.balance - coalesce(cb.balance, 0)) >= greatest(coalesce(p.payout_threshold, $2), 1)`;

const transferGroup = (payoutId: string) => `payout_${payoutId}`;

export interface RunProgress {
  done: number;
  total: number;
}

/**
 * Payout runs. A run plans first — each payout row, its ledger entry (available → Stripe
 * clearing) and the conversions it pays are written together — then transfers, each with an
 * idempotency key derived from the payout and a look-up by transfer group before any retry, so
 * a killed worker resumes and nobody is paid twice.
 */
@Injectable()
export class PayoutRunsService implements OnModuleInit {
  private readonly logger = new Logger(PayoutRunsService.name);
  private readonly defaultThreshold: number;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly stripe: StripeClient,
    private readonly ledger: LedgerService,
    private readonly outbox: OutboxService,
    private readonly events: StripeEventsService,
    config: ConfigService<Config, true>,
  ) {
    this.defaultThreshold = config.get('app', { infer: true }).defaultPayoutThreshold;
  }

  onModuleInit(): void {
    this.events.on('transfer.reversed', (manager, event) => this.transferReversed(manager, event));
  }

  /** Starts (or joins) the currency's live run; a dry run only previews. */
  async request(actor: AuthPrincipal, dto: RequestPayoutRunDto): Promise<PayoutRun> {
    if (!isStripeCurrency(dto.currency)) throw PayoutsError.currencyNotSupported(dto.currency);
    if (dto.dryRun) return this.preview(actor, dto.currency);
    // eslint-disable-next-line @typescript-eslint/no-unused-expressions -- the getter throws
    this.stripe.api; // fail now, with the clear 503, if Stripe is not configured
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
    await this.dataSource.query(`UPDATE payout_runs SET status = 'running', started_at = coalesce(started_at, now()) WHERE id = $1 AND status IN ('queued', 'running')`, [runId]);
    await this.settleLeftovers((await this.get(runId)).currency);
    await this.plan(runId);
    const open = await this.dataSource.getRepository(Payout).find({ where: { runId, status: In(['pending', 'transferring']) }, order: { id: 'ASC' } });
    let retryLater: unknown = null;
    let cursor = 0;
    const worker = async () => {
      while (cursor < open.length) {
        const payout = open[cursor++];
        try {
          await this.transfer(payout);
        } catch (error) {
          // Stripe unreachable, or its answer not recorded: the others go on, the job is retried.
          this.logger.warn(`payout ${payout.id}: ${(error as Error).message}; retried with the run`);
          retryLater = error;
        }
        const run = await this.get(runId);
        await onProgress({ done: run.doneCount + run.failedCount, total: run.totalCount });
      }
    };
    await Promise.all(Array.from({ length: TRANSFER_CONCURRENCY }, worker));
    // Some payouts are unsettled: the job fails and BullMQ retries it; done payouts stay done.
    if (retryLater) throw retryLater;
    await this.dataSource.query(`UPDATE payout_runs SET status = 'completed', finished_at = now() WHERE id = $1 AND status = 'running'`, [runId]);
    const run = await this.get(runId);
    this.logger.log(`payout run ${runId} completed: ${run.doneCount} paid, ${run.failedCount} failed, ${run.doneAmount} ${run.currency} minor units`);
    return run;
  }

  /**
   * Ends a run for good (its job ran out of attempts). Each payout it leaves open is settled
   * against Stripe first, so no money stays stranded between the balance and Stripe: a transfer
   * found by the payout's group marks it paid, none fails it with the money back. A payout
   * Stripe cannot be asked about now stays open for the currency's next run to settle.
   */
  async markFailed(runId: string, reason: string): Promise<void> {
    const open = await this.dataSource.getRepository(Payout).find({ where: { runId, status: In(['pending', 'transferring']) }, order: { id: 'ASC' } });
    for (const payout of open) {
      try {
        await this.settleAbandoned(payout, reason);
      } catch (error) {
        this.logger.error(`payout ${payout.id} of given-up run ${runId} could not be settled now (${(error as Error).message}); the next ${payout.currency} run settles it`);
      }
    }
    await this.dataSource.query(`UPDATE payout_runs SET status = 'failed', error = $2, finished_at = now() WHERE id = $1 AND status IN ('queued', 'running')`, [runId, reason.slice(0, 500)]);
  }

  /** A payout whose run gave up: paid if Stripe has its transfer, otherwise failed with the money back. */
  private async settleAbandoned(payout: Payout, reason: string): Promise<void> {
    const transfer = await this.findTransfer(payout.id);
    if (transfer) await this.markPaid(payout, transfer.id);
    else await this.fail(payout.id, 'payout_run_gave_up', `the payout run gave up (${reason}) and Stripe has no transfer for this payout`);
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

  /** Affiliates due a payout, for what Stripe can carry of their balance (the rest stays in it). */
  private async eligible(manager: EntityManager, currency: string): Promise<(Eligible & { threshold: number })[]> {
    const rows: (Eligible & { threshold: string })[] = await manager.query(`${ELIGIBLE} ORDER BY p.id`, [currency, this.defaultThreshold]);
    return rows
      .map((r) => ({ ...r, amount: carriableMinor(Number(r.amount), currency, 'transfer'), clawbackNetted: Number(r.clawbackNetted), threshold: Number(r.threshold) }))
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
        await manager.query(
          `SELECT id FROM conversions WHERE affiliate_id = ANY($1::uuid[]) AND currency = $2 AND status = 'approved' AND payout_id IS NULL ORDER BY id FOR UPDATE`,
          [affiliateIds, run.currency],
        );
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
    await manager.query(
      `SELECT id FROM conversions WHERE affiliate_id = $1 AND currency = $2 AND status = 'approved' AND payout_id IS NULL ORDER BY id FOR UPDATE`,
      [candidate.affiliateId, run.currency],
    );
    const [balance] = await this.ledger.balances(manager, candidate.affiliateId, run.currency, { lock: true });
    const clawbackNetted = balance?.clawback ?? 0;
    // Only what Stripe can carry is paid out (and posted): the rest stays in the available balance.
    const owed = (balance?.available ?? 0) - clawbackNetted;
    const amount = owed > 0 ? carriableMinor(owed, run.currency, 'transfer') : owed;
    if (amount < Math.max(candidate.threshold, 1)) return;
    const inserted: { id: string }[] = await manager.query(
      `INSERT INTO payouts (run_id, affiliate_id, currency, amount, clawback_netted, status, stripe_account_id)
       VALUES ($1, $2, $3, $4, $5, 'pending', $6) ON CONFLICT (run_id, affiliate_id) DO NOTHING RETURNING id`,
      [run.id, candidate.affiliateId, run.currency, amount, clawbackNetted, candidate.stripeAccountId],
    );
    if (!inserted.length) return;
    const payoutId = inserted[0].id;
    await this.ledger.post(manager, {
      kind: LEDGER_KINDS.payout,
      causeType: 'payout',
      causeId: payoutId,
      lines: payoutLines({ affiliateId: candidate.affiliateId, currency: run.currency }, amount, clawbackNetted),
      memo: `payout run ${run.id}`,
    });
    await this.moveConversions(manager, `status = 'approved' AND payout_id IS NULL AND affiliate_id = $2 AND currency = $3`, [payoutId, candidate.affiliateId, run.currency], 'paid', 'paid in a payout');
  }

  /** Sets the status (and payout link) of a set of conversions in bulk, with an event for each. */
  private async moveConversions(manager: EntityManager, where: string, params: unknown[], to: 'paid' | 'approved', reason: string): Promise<void> {
    await manager.query(
      `WITH moved AS (
         UPDATE conversions SET status = '${to}', payout_id = ${to === 'paid' ? '$1::uuid' : 'NULL'}, updated_at = now()
          WHERE ${where} RETURNING id, ${to === 'paid' ? "'approved'" : "'paid'"} AS from_status)
       INSERT INTO conversion_events (conversion_id, from_status, to_status, actor_type, reason)
       SELECT id, from_status, '${to}', 'system', '${reason}' FROM moved`,
      params,
    );
  }

  private async transfer(payout: Payout): Promise<void> {
    const api = this.stripe.api;
    const [claimed] = await updateReturning<{ attempts: number }>(
      this.dataSource,
      `UPDATE payouts SET status = 'transferring', attempts = attempts + 1 WHERE id = $1 AND status IN ('pending', 'transferring') RETURNING attempts`,
      [payout.id],
    );
    if (!claimed) return;
    // A retry may follow a transfer Stripe made but we never recorded (lost answer, expired key,
    // a database error after Stripe's answer): look before creating. A failing look-up is retried.
    const existing = claimed.attempts > 1 ? await this.findTransfer(payout.id) : undefined;
    if (existing) return this.markPaid(payout, existing.id);
    const sent = toStripeAmount(payout.amount, payout.currency, 'transfer');
    if (sent.remainder) {
      // Planned before amounts were rounded to what Stripe carries: returned whole and planned again by the next run.
      await this.fail(payout.id, 'amount_not_carriable', `Stripe cannot transfer ${payout.amount} ${payout.currency} minor units exactly`);
      return;
    }
    let transfer: Stripe.Transfer;
    try {
      transfer = await api.transfers.create(
        { amount: sent.amount, currency: payout.currency.toLowerCase(), destination: payout.stripeAccountId, transfer_group: transferGroup(payout.id), metadata: { payout_id: payout.id, affiliate_id: payout.affiliateId } },
        { idempotencyKey: `afx-payout-${payout.id}` },
      );
    } catch (error) {
      // Only Stripe saying no to the create itself proves no money moved; anything else is retried.
      if (!isDefinitiveRefusal(error)) throw error;
      const e = error as Stripe.errors.StripeError;
      await this.fail(payout.id, e.code ?? e.type ?? 'transfer_failed', e.message ?? String(error));
      return;
    }
    // Outside the try: a failure to record a transfer Stripe made must never return the money.
    await this.markPaid(payout, transfer.id);
  }

  /** The transfer Stripe made for this payout, if any (our transfer group names the payout). */
  private async findTransfer(payoutId: string): Promise<Stripe.Transfer | undefined> {
    return (await this.stripe.api.transfers.list({ transfer_group: transferGroup(payoutId), limit: 1 })).data[0];
  }

  /** Records the transfer; Stripe events about it that arrived before (kept unprocessed) are applied again. */
  private async markPaid(payout: Payout, transferId: string): Promise<void> {
    const reapplied = await this.dataSource.transaction(async (manager) => {
      const [updated] = await updateReturning(
        manager,
        `UPDATE payouts SET status = 'paid', stripe_transfer_id = $2, paid_at = now() WHERE id = $1 AND status IN ('pending', 'transferring') RETURNING amount`,
        [payout.id, transferId],
      );
      if (!updated) return 0;
      await manager.query(`UPDATE payout_runs SET done_count = done_count + 1, done_amount = done_amount + $2 WHERE id = $1`, [payout.runId, payout.amount]);
      return this.events.reapply(manager, { objectId: transferId, metadata: ['payout_id', payout.id] }, `paid-${payout.id}`);
    });
    if (reapplied) this.outbox.notify();
  }

  /** A payout that will not happen: its money goes back to the affiliate's balance, its conversions back to approved. */
  private fail(payoutId: string, code: string, message: string): Promise<boolean> {
    return this.dataSource.transaction((manager) => this.failIn(manager, payoutId, code, message));
  }

  /**
   * Returns what is still out of the payout (partial reversals came back already) and the
   * clawback it netted. `reversedAmount`, when Stripe reversed the whole transfer, is recorded.
   */
  private async failIn(manager: EntityManager, payoutId: string, code: string, message: string, reversedAmount?: number): Promise<boolean> {
    const payout = await manager.findOne(Payout, { where: { id: payoutId }, lock: { mode: 'pessimistic_write' } });
    if (!payout || payout.status === 'failed') return false;
    // The lock order of ledger.service.ts: the payout's conversions before the affiliate's accounts.
    await manager.query(`SELECT id FROM conversions WHERE payout_id = $1 ORDER BY id FOR UPDATE`, [payoutId]);
    await manager.update(Payout, { id: payoutId }, { status: 'failed', failureCode: code.slice(0, 100), failureMessage: message.slice(0, 500), failedAt: new Date(), ...(reversedAmount === undefined ? {} : { reversedAmount }) });
    await this.ledger.post(manager, {
      kind: LEDGER_KINDS.payoutReversal,
      causeType: 'payout',
      causeId: payoutId,
      lines: payoutFailedLines({ affiliateId: payout.affiliateId, currency: payout.currency }, payout.amount - payout.reversedAmount, payout.clawbackNetted),
      memo: code,
    });
    await this.moveConversions(manager, `status = 'paid' AND payout_id = $1`, [payoutId], 'approved', 'payout failed');
    await manager.query(`UPDATE payout_runs SET failed_count = failed_count + 1 WHERE id = $1`, [payout.runId]);
    this.logger.warn(`payout ${payoutId} failed (${code}): the money is back in the affiliate's balance`);
    return true;
  }

  /**
   * Stripe sends `transfer.reversed` for partial reversals too, with the transfer's running
   * `amount_reversed`. Only what is newly reversed goes back to the balance, as one ledger entry
   * per reversal (keyed by the payout and the reversal id); the payout stays paid, with its
   * conversions, until the whole transfer is reversed: then it fails like a refused transfer.
   */
  private async transferReversed(manager: EntityManager, event: Stripe.Event): Promise<StripeEventOutcome> {
    const transfer = event.data.object as Stripe.Transfer;
    const payout = await this.payoutOfTransfer(manager, transfer);
    if (!payout) return { deferred: `no payout for transfer ${transfer.id} yet` };
    if (payout.status === 'failed') return 'already failed';
    const reversed = Math.min(fromStripeAmount(transfer.amount_reversed, payout.currency), payout.amount);
    if (transfer.reversed || reversed >= payout.amount) {
      await this.failIn(manager, payout.id, 'transfer_reversed', `Stripe transfer ${transfer.id} was reversed`, payout.amount);
      return 'payout failed, money returned';
    }
    const newly = reversed - payout.reversedAmount;
    // An older event arriving after a newer one, or a replay: nothing new.
    if (newly <= 0) return 'nothing newly reversed';
    const reversalId = transfer.reversals?.data?.[0]?.id ?? event.id;
    await this.ledger.post(manager, {
      kind: LEDGER_KINDS.payoutReversal,
      causeType: 'payout',
      causeId: `${payout.id}:${reversalId}`,
      lines: payoutFailedLines({ affiliateId: payout.affiliateId, currency: payout.currency }, newly),
      memo: `partial reversal ${reversalId} of Stripe transfer ${transfer.id}`,
    });
    await manager.update(Payout, { id: payout.id }, { reversedAmount: reversed });
    return `partly reversed: ${newly} returned`;
  }

  /** The payout a transfer pays, locked: by the transfer id we stored or, before we did, by the payout id we set in its metadata. */
  private async payoutOfTransfer(manager: EntityManager, transfer: Stripe.Transfer): Promise<Payout | null> {
    const byMetadata = transfer.metadata?.payout_id;
    const where: FindOptionsWhere<Payout>[] = [{ stripeTransferId: transfer.id }];
    if (byMetadata && UUID_PATTERN.test(byMetadata)) where.push({ id: byMetadata, stripeTransferId: IsNull() }, { id: byMetadata, stripeTransferId: transfer.id });
    return manager.findOne(Payout, { where, lock: { mode: 'pessimistic_write' } });
  }
}
