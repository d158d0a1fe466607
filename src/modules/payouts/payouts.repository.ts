import { DataSource, EntityManager, FindOptionsWhere, In, IsNull, SelectQueryBuilder } from 'typeorm';
import { updateReturning } from '../../database/sql';
import { UUID_PATTERN } from '../../common/validation/validators';
import { PayoutDestination, Payout, PayoutPreviewItem, PayoutRun } from './payout.entities';

/** What a payout's failure records. */
export interface PayoutFailure {
  code: string;
  message: string;
  /** Set when the rail reversed the whole transfer. */
  reversedAmount?: number;
}

/**
 * Every query on `payouts`, `payout_runs` and `payout_accounts` (the payouts module owns its
 * tables: see ARCHITECTURE.md), hand-written SQL included; the run engine (common/runs) keeps
 * its generic run-row updates. Stateless, like ConversionsRepository: each method runs on the
 * caller's manager and transaction.
 */
export class PayoutsRepository {
  // -- payout destinations (payout_accounts) ---------------------------------

  findDestination(manager: EntityManager, affiliateId: string): Promise<PayoutDestination | null> {
    return manager.findOneBy(PayoutDestination, { affiliateId });
  }

  /** Records the affiliate's destination on `rail` unless it has one (a concurrent onboarding wins once). */
  async addDestination(manager: EntityManager, affiliateId: string, rail: string, externalAccountId: string): Promise<void> {
    await manager.createQueryBuilder().insert().into(PayoutDestination).values({ affiliateId, rail, externalAccountId }).orIgnore().execute();
  }

  /** Locks the destination `externalAccountId` of `rail`; answers whether it is known. */
  async lockDestination(manager: EntityManager, rail: string, externalAccountId: string): Promise<boolean> {
    const [known] = await manager.query(`SELECT 1 FROM payout_accounts WHERE rail = $1 AND external_account_id = $2 FOR UPDATE`, [rail, externalAccountId]);
    return !!known;
  }

  /** Applies the destination's state as its rail reports it at `at` (a later event's time is kept). */
  async applyDestinationState(
    manager: EntityManager,
    rail: string,
    externalAccountId: string,
    state: { payoutsEnabled: boolean; detailsSubmitted: boolean },
    at: Date,
  ): Promise<void> {
    await manager.query(
      `UPDATE payout_accounts SET payouts_enabled = $3, details_submitted = $4, last_event_at = greatest(last_event_at, $5), updated_at = now()
        WHERE rail = $1 AND external_account_id = $2`,
      [rail, externalAccountId, state.payoutsEnabled, state.detailsSubmitted, at],
    );
  }

  /** Every destination payouts are enabled on. */
  enabledDestinations(manager: EntityManager): Promise<{ affiliateId: string; rail: string; externalAccountId: string }[]> {
    return manager.query(`SELECT affiliate_id AS "affiliateId", rail, external_account_id AS "externalAccountId" FROM payout_accounts WHERE payouts_enabled ORDER BY affiliate_id`);
  }

  // -- payout runs -------------------------------------------------------------

  /**
   * Inserts the currency's run or, in the same statement, joins the live one (a no-op update that
   * returns it): a separate look-up could miss a run that completed in between.
   */
  async startOrJoinRun(manager: EntityManager, currency: string, requestedBy: string): Promise<{ id: string; created: boolean }> {
    const [row]: { id: string; created: boolean }[] = await manager.query(
      `INSERT INTO payout_runs (currency, status, requested_by) VALUES ($1, 'queued', $2)
       ON CONFLICT (currency) WHERE status IN ('queued', 'running') AND NOT dry_run DO UPDATE SET currency = EXCLUDED.currency
       RETURNING id, (xmax = 0) AS created`,
      [currency, requestedBy],
    );
    return row;
  }

  /** Queued or running runs older than `seconds`, oldest first (the sweeper re-drives those whose job is gone). */
  async liveRunsOlderThan(manager: EntityManager, seconds: number, limit: number): Promise<string[]> {
    const rows: { id: string }[] = await manager.query(
      `SELECT id FROM payout_runs WHERE status IN ('queued', 'running') AND created_at < now() - make_interval(secs => $1) ORDER BY created_at LIMIT $2`,
      [seconds, limit],
    );
    return rows.map((r) => r.id);
  }

  findRun(manager: EntityManager, id: string): Promise<PayoutRun | null> {
    return manager.findOneBy(PayoutRun, { id });
  }

  /** Stores a dry run: its preview, already completed. */
  saveDryRun(manager: EntityManager, currency: string, requestedBy: string, totalCount: number, totalAmount: number, preview: PayoutPreviewItem[]): Promise<PayoutRun> {
    const now = new Date();
    return manager.save(manager.create(PayoutRun, { currency, dryRun: true, status: 'completed', requestedBy, totalCount, totalAmount, preview, plannedAt: now, finishedAt: now }));
  }

  /** The run is planned: its totals are those of the payouts it holds. */
  async markRunPlanned(manager: EntityManager, runId: string): Promise<void> {
    await manager.query(
      `UPDATE payout_runs r SET planned_at = now(),
         total_count = (SELECT count(*) FROM payouts WHERE run_id = r.id),
         total_amount = (SELECT coalesce(sum(amount), 0) FROM payouts WHERE run_id = r.id)
       WHERE id = $1`,
      [runId],
    );
  }

  async countRunFailed(manager: EntityManager, runId: string): Promise<void> {
    await manager.query(`UPDATE payout_runs SET failed_count = failed_count + 1 WHERE id = $1`, [runId]);
  }

  // -- payouts -----------------------------------------------------------------

  /** The run's payouts still to transfer, in id order. */
  openPayouts(manager: EntityManager, runId: string): Promise<Payout[]> {
    return manager.find(Payout, { where: { runId, status: In(['pending', 'transferring']) }, order: { id: 'ASC' } });
  }

  /** Payouts for paginate under the alias `p`. */
  listQuery(manager: EntityManager): SelectQueryBuilder<Payout> {
    return manager.getRepository(Payout).createQueryBuilder('p');
  }

  /** Open payouts of the currency's earlier runs that gave up, in id order. */
  leftovers(manager: EntityManager | DataSource, currency: string): Promise<Payout[]> {
    return manager
      .getRepository(Payout)
      .createQueryBuilder('p')
      .where(`p.currency = :currency AND p.status IN ('pending', 'transferring')`, { currency })
      .andWhere(`EXISTS (SELECT 1 FROM payout_runs r WHERE r.id = p.run_id AND r.status = 'failed')`)
      .orderBy('p.id')
      .getMany();
  }

  /** A pending payout of the run to the affiliate, unless it has one; answers its id. */
  async insertPayout(
    manager: EntityManager,
    payout: { runId: string; affiliateId: string; currency: string; amount: number; clawbackNetted: number; rail: string; externalAccountId: string },
  ): Promise<string | null> {
    const inserted: { id: string }[] = await manager.query(
      `INSERT INTO payouts (run_id, affiliate_id, currency, amount, clawback_netted, status, rail, external_account_id)
       VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7) ON CONFLICT (run_id, affiliate_id) DO NOTHING RETURNING id`,
      [payout.runId, payout.affiliateId, payout.currency, payout.amount, payout.clawbackNetted, payout.rail, payout.externalAccountId],
    );
    return inserted[0]?.id ?? null;
  }

  /** Pending payouts of the run, one per affiliate unless it has one; answers the new ones' ids by affiliate. */
  async insertPayouts(
    manager: EntityManager,
    runId: string,
    currency: string,
    payouts: { affiliateId: string; amount: number; clawbackNetted: number; rail: string; externalAccountId: string }[],
  ): Promise<Map<string, string>> {
    if (!payouts.length) return new Map();
    const inserted: { id: string; affiliate_id: string }[] = await manager.query(
      `INSERT INTO payouts (run_id, affiliate_id, currency, amount, clawback_netted, status, rail, external_account_id)
       SELECT $1, p.affiliate_id, $2, p.amount, p.clawback_netted, 'pending', p.rail, p.external_account_id
         FROM unnest($3::uuid[], $4::bigint[], $5::bigint[], $6::text[], $7::text[]) WITH ORDINALITY AS p(affiliate_id, amount, clawback_netted, rail, external_account_id, n)
        ORDER BY p.n
       ON CONFLICT (run_id, affiliate_id) DO NOTHING RETURNING id, affiliate_id`,
      [
        runId,
        currency,
        payouts.map((p) => p.affiliateId),
        payouts.map((p) => p.amount),
        payouts.map((p) => p.clawbackNetted),
        payouts.map((p) => p.rail),
        payouts.map((p) => p.externalAccountId),
      ],
    );
    return new Map(inserted.map((r) => [r.affiliate_id, r.id]));
  }

  /**
   * Claims open payouts for a transfer attempt each, in one statement (id order, the payouts' lock
   * order); answers each claimed one's attempt number. A payout no longer open is left out.
   */
  async claimManyForTransfer(manager: EntityManager | DataSource, payoutIds: string[]): Promise<Map<string, number>> {
    const claimed = await updateReturning<{ id: string; attempts: number }>(
      manager,
      `UPDATE payouts p SET status = 'transferring', attempts = p.attempts + 1
         FROM (SELECT id FROM payouts WHERE id = ANY($1::uuid[]) AND status IN ('pending', 'transferring') ORDER BY id FOR UPDATE) AS open
        WHERE p.id = open.id RETURNING p.id, p.attempts`,
      [payoutIds],
    );
    return new Map(claimed.map((c) => [c.id, c.attempts]));
  }

  /**
   * Marks open payouts paid, each by its transfer, and counts them done on their runs, in one
   * statement (payouts locked in id order, then the runs); answers those that were open.
   */
  async markManyPaid(manager: EntityManager, paid: { payoutId: string; externalId: string }[]): Promise<{ id: string; paidAt: Date }[]> {
    const sorted = [...paid].sort((a, b) => (a.payoutId < b.payoutId ? -1 : a.payoutId > b.payoutId ? 1 : 0));
    return manager.query(
      `WITH open AS (
         SELECT p.id, v.external_id FROM payouts p JOIN unnest($1::uuid[], $2::text[]) AS v(id, external_id) ON v.id = p.id
          WHERE p.status IN ('pending', 'transferring') ORDER BY p.id FOR UPDATE OF p
       ), paid AS (
         UPDATE payouts p SET status = 'paid', external_id = open.external_id, paid_at = now() FROM open
          WHERE p.id = open.id AND p.status IN ('pending', 'transferring') RETURNING p.id, p.run_id, p.amount, p.paid_at
       ), counted AS (
         UPDATE payout_runs r SET done_count = r.done_count + c.n, done_amount = r.done_amount + c.amount
           FROM (SELECT run_id, count(*)::int AS n, sum(amount) AS amount FROM paid GROUP BY run_id) AS c
          WHERE r.id = c.run_id RETURNING r.id
       )
       SELECT id, paid_at AS "paidAt" FROM paid`,
      [sorted.map((p) => p.payoutId), sorted.map((p) => p.externalId)],
    );
  }

  /** The payout, locked until the transaction ends. */
  lockPayout(manager: EntityManager, id: string): Promise<Payout | null> {
    return manager.findOne(Payout, { where: { id }, lock: { mode: 'pessimistic_write' } });
  }

  async markFailed(manager: EntityManager, payoutId: string, failure: PayoutFailure): Promise<void> {
    await manager.update(
      Payout,
      { id: payoutId },
      {
        status: 'failed',
        failureCode: failure.code.slice(0, 100),
        failureMessage: failure.message.slice(0, 500),
        failedAt: new Date(),
        ...(failure.reversedAmount === undefined ? {} : { reversedAmount: failure.reversedAmount }),
      },
    );
  }

  async setReversedAmount(manager: EntityManager, payoutId: string, reversedAmount: number): Promise<void> {
    await manager.update(Payout, { id: payoutId }, { reversedAmount });
  }

  /**
   * The payout a transfer pays, locked: by the transfer id we stored or, before we did, by the
   * payout id our reference (`payoutId`) names.
   */
  lockByTransfer(manager: EntityManager, rail: string, transferId: string, payoutId: string | undefined): Promise<Payout | null> {
    const transfer = { rail, externalId: transferId };
    const where: FindOptionsWhere<Payout>[] = [transfer];
    if (payoutId && UUID_PATTERN.test(payoutId)) where.push({ id: payoutId, rail, externalId: IsNull() }, { id: payoutId, ...transfer });
    return manager.findOne(Payout, { where, lock: { mode: 'pessimistic_write' } });
  }
}

export const payoutsRepository = new PayoutsRepository();
