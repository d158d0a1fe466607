import { DataSource, EntityManager, FindOptionsWhere, SelectQueryBuilder } from 'typeorm';
import { entityRows, EntityRows } from '../../database/entity-rows';
import { updateReturning } from '../../database/sql';
import { ConversionEvent, EventActorType } from './conversion-event.entity';
import { ACCEPTED_STATUSES, Conversion, ConversionStatus } from './conversion.entity';
import { PAYOUT_TRANSITIONS } from './lifecycle';

/** A conversion as the commission postings read it under its lock: no entity hydration, this runs for every conversion. */
export interface ConversionPostingRow {
  id: string;
  advertiser_id: string;
  affiliate_id: string | null;
  currency: string | null;
  revenue: string;
  payout: string;
  status: ConversionStatus;
  goal_key: string;
  txn_id: string;
}

/** A conversion an invoice run tagged, with what its invoice line needs. */
export interface InvoiceTaggedRow {
  offer_id: string;
  goal_key: string;
  revenue: string;
}

/** What crediting a reversed result needs to know of it. */
export interface ReversedRow {
  id: string;
  revenue: string;
  invoice_id: string | null;
  status: string;
}

/** The conversions a payout move takes: those it is planned with, or those it paid. */
export type PayoutMove = { transition: 'payoutPaid'; payoutId: string; affiliateId: string; currency: string } | { transition: 'payoutFailed'; payoutId: string };

/** Locks in id order, so two batches sharing conversions wait for each other instead of deadlocking. */
const LOCK_FOR_POSTING = `
  SELECT id, advertiser_id, affiliate_id, currency, revenue::text AS revenue, payout::text AS payout, status, goal_key, txn_id
  FROM conversions WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE`;

/** Approved (or already paid out) results with revenue that no invoice has billed. */
// A prepaid advertiser's results are paid from its funds, never invoiced.
const BILLABLE = `c.status IN ('approved', 'paid') AND c.invoice_id IS NULL AND c.revenue > 0 AND c.approved_at < $2 AND NOT c.prepaid`;

/**
 * Conversion events that come with an outgoing postback: all of them but the payout's own moves
 * (PAYOUT_TRANSITIONS: approved → paid, and paid → approved when a transfer fails), which are
 * recorded without one.
 */
const SENDS_PARTNER_POSTBACK = `NOT (e.to_status = 'paid' OR (e.from_status = 'paid' AND e.to_status = 'approved'))`;

/**
 * Queries on `conversions` and `conversion_events`: every one other modules run (the
 * conversions aggregate owns its tables: see ARCHITECTURE.md) and most of ConversionsService's
 * (its one-statement write and cap counts stay beside the decision they serve). Stateless: each method runs on the manager it
 * is given, so it joins the caller's transaction and its lock order; no injection, so the
 * modules ConversionsModule itself imports (commissions' postings) can use it without a cycle.
 */
export class ConversionsRepository {
  // -- the conversions module's own ------------------------------------------

  /** The conversion, locked, if `where` (its id and the caller's scope) finds it. */
  lockOne(manager: EntityManager, where: FindOptionsWhere<Conversion>): Promise<Conversion | null> {
    return manager.findOne(Conversion, { where, lock: { mode: 'pessimistic_write' } });
  }

  findWhere(manager: EntityManager, where: FindOptionsWhere<Conversion>): Promise<Conversion | null> {
    return manager.getRepository(Conversion).findOneBy(where);
  }

  isPaid(manager: EntityManager, id: string): Promise<boolean> {
    return manager.getRepository(Conversion).exists({ where: { id, status: 'paid' } });
  }

  /** Writes a decided status change, with the approval time and reason it sets. */
  async saveStatus(manager: EntityManager, conversion: Pick<Conversion, 'id' | 'status' | 'approvedAt' | 'reason' | 'hold'>): Promise<void> {
    await manager.update(Conversion, { id: conversion.id }, { status: conversion.status, approvedAt: conversion.approvedAt, reason: conversion.reason, hold: conversion.hold });
  }

  /**
   * Stores the quality job's scores (README, "Traffic quality"), stamping them checked; those
   * marked `hold` that are still pending and not held yet are held for review. Answers the ids it held.
   */
  async setRisk(manager: EntityManager, rows: { id: string; score: number | null; reasons: unknown[] | null; hold: boolean }[]): Promise<string[]> {
    if (rows.length === 0) return [];
    const held: { id: string }[] = await manager.query(
      `WITH held AS (
         UPDATE conversions SET hold = 'review', updated_at = now()
          WHERE id = ANY ($1::uuid[]) AND status = 'pending' AND hold IS NULL RETURNING id)
       SELECT id FROM held`,
      [rows.filter((r) => r.hold).map((r) => r.id)],
    );
    await manager.query(
      `UPDATE conversions c SET risk_score = u.score, risk_reasons = u.reasons, risk_checked_at = now()
         FROM unnest($1::uuid[], $2::int2[], $3::jsonb[]) AS u (id, score, reasons) WHERE c.id = u.id`,
      [rows.map((r) => r.id), rows.map((r) => r.score), rows.map((r) => (r.reasons ? JSON.stringify(r.reasons) : null))],
    );
    return held.map((r) => r.id);
  }

  /** Locks the oldest pending conversion of a prepaid advertiser waiting for funds in `currency` (others' locks skipped). */
  async lockOldestAwaitingFunds(manager: EntityManager, advertiserId: string, currency: string): Promise<Conversion | null> {
    return manager
      .createQueryBuilder(Conversion, 'c')
      .setLock('pessimistic_write')
      .setOnLocked('skip_locked')
      .where("c.advertiser_id = :advertiserId AND c.currency = :currency AND c.hold = 'awaiting_funds' AND c.status = 'pending'", { advertiserId, currency })
      .orderBy('c.created_at')
      .addOrderBy('c.id')
      .limit(1)
      .getOne();
  }

  async countAwaitingFunds(manager: EntityManager, advertiserId: string): Promise<number> {
    const [{ n }] = await manager.query(`SELECT count(*)::int AS n FROM conversions WHERE advertiser_id = $1 AND hold = 'awaiting_funds' AND status = 'pending'`, [advertiserId]);
    return n;
  }

  /** The advertisers with conversions waiting for funds. */
  async advertisersAwaitingFunds(manager: EntityManager): Promise<string[]> {
    const rows: { advertiser_id: string }[] = await manager.query(`SELECT DISTINCT advertiser_id FROM conversions WHERE hold = 'awaiting_funds' AND status = 'pending'`);
    return rows.map((r) => r.advertiser_id);
  }

  /** Locks an advertiser's conversions waiting for funds (others' locks skipped); their ids. */
  async lockAwaitingFundsOf(manager: EntityManager, advertiserId: string): Promise<string[]> {
    const rows: { id: string }[] = await manager.query(
      `SELECT id FROM conversions WHERE advertiser_id = $1 AND hold = 'awaiting_funds' AND status = 'pending' ORDER BY created_at, id FOR UPDATE SKIP LOCKED`,
      [advertiserId],
    );
    return rows.map((r) => r.id);
  }

  /** Clears the hold of (locked) conversions; those not in `stillPrepaid` are no longer prepaid (billed by invoice). */
  async releaseHolds(manager: EntityManager, ids: string[], stillPrepaid: string[]): Promise<void> {
    await manager.query(`UPDATE conversions SET hold = NULL, prepaid = (id = ANY ($2::uuid[])), updated_at = now() WHERE id = ANY ($1::uuid[])`, [ids, stillPrepaid]);
  }

  async clearHold(manager: EntityManager, id: string): Promise<void> {
    await manager.update(Conversion, { id }, { hold: null });
  }

  getOrFail(manager: EntityManager, id: string): Promise<Conversion> {
    return manager.findOneByOrFail(Conversion, { id });
  }

  addEvent(
    manager: EntityManager,
    event: { conversionId: string; from: ConversionStatus | null; to: ConversionStatus; actorType: EventActorType; actorId: string | null; reason: string | null },
  ): Promise<ConversionEvent> {
    const { conversionId, from, to, actorType, actorId, reason } = event;
    return manager.save(manager.create(ConversionEvent, { conversionId, fromStatus: from, toStatus: to, actorType, actorId, reason }));
  }

  events(manager: EntityManager, conversionId: string): Promise<ConversionEvent[]> {
    return manager.getRepository(ConversionEvent).find({ where: { conversionId }, order: { id: 'ASC' } });
  }

  /** A query over every conversion, for the caller's filters and pagination. */
  listQuery(manager: EntityManager): SelectQueryBuilder<Conversion> {
    return manager.getRepository(Conversion).createQueryBuilder('c');
  }

  /** The conversion holding a txn id: in the authenticated space (postback, API), or with `pixel` in the pixel's. */
  async findByTxn(manager: EntityManager, advertiserId: string, goalKey: string, txnId: string, pixel = false): Promise<Conversion | null> {
    const rows: Record<string, unknown>[] = await manager.query(
      `SELECT * FROM conversions WHERE advertiser_id = $1 AND goal_key = $2 AND txn_id = $3 AND source ${pixel ? '=' : '<>'} 'pixel'`,
      [advertiserId, goalKey, txnId],
    );
    return rows.length > 0 ? this.rows(manager).toEntity(rows[0]) : null;
  }

  /** Counts and sums per local day of `timezone` and currency (figures as strings), for one advertiser or affiliate or all. */
  perDay(manager: EntityManager, range: { from: Date; to: Date; timezone: string }, scope: { advertiserId?: string; affiliateId?: string }): Promise<Record<string, string>[]> {
    return manager.query(
      `SELECT to_char(created_at AT TIME ZONE $3, 'YYYY-MM-DD') AS day, currency,
              count(*) FILTER (WHERE status = ANY($4))::text AS accepted,
              count(*) FILTER (WHERE status IN ('rejected', 'reversed'))::text AS rejected,
              coalesce(sum(sale_amount) FILTER (WHERE status = ANY($4)), 0)::text AS "saleAmount",
              coalesce(sum(revenue) FILTER (WHERE status = ANY($4)), 0)::text AS revenue,
              coalesce(sum(payout) FILTER (WHERE status = ANY($4)), 0)::text AS payout
         FROM conversions
        WHERE created_at >= $1 AND created_at < $2 AND currency IS NOT NULL
          AND ($5::uuid IS NULL OR advertiser_id = $5) AND ($6::uuid IS NULL OR affiliate_id = $6)
        GROUP BY 1, 2 ORDER BY 1, 2`,
      [range.from, range.to, range.timezone, ACCEPTED_STATUSES, scope.advertiserId ?? null, scope.affiliateId ?? null],
    );
  }

  /**
   * An affiliate's accepted conversions on one offer and goal (count and sale amount) in the
   * calendar month of `timezone` that holds `at`, each counted at the time it happened and only
   * if it happened before `at`: what a tiered rule reads.
   */
  async monthlyVolume(
    manager: EntityManager,
    q: { offerId: string; goalKey: string; affiliateId: string; at: Date; timezone: string },
  ): Promise<{ conversions: number; saleAmount: number }> {
    const [row] = await manager.query(
      `SELECT count(*)::int AS conversions, coalesce(sum(sale_amount), 0)::text AS "saleAmount"
         FROM conversions
        WHERE offer_id = $1 AND affiliate_id = $2 AND goal_key = $3 AND status = ANY($6)
          AND created_at >= date_trunc('month', $4::timestamptz, $5) - interval '1 day' -- (for the index: none is recorded a day before it happened)
          AND coalesce(occurred_at, created_at) >= date_trunc('month', $4::timestamptz, $5)
          AND coalesce(occurred_at, created_at) < $4`,
      [q.offerId, q.affiliateId, q.goalKey, q.at, q.timezone, ACCEPTED_STATUSES],
    );
    return { conversions: row.conversions, saleAmount: Number(row.saleAmount) };
  }

  /**
   * The first conversion of a customer on each of the advertiser's offers it converted on
   * (attributed ones only carry an offer), earliest first: who a recurring conversion is for.
   */
  customerFirsts(manager: EntityManager, advertiserId: string, customerId: string): Promise<{ offer_id: string; affiliate_id: string; link_id: string | null; first_at: Date }[]> {
    return manager.query(
      `SELECT * FROM (
         SELECT DISTINCT ON (offer_id) offer_id, affiliate_id, link_id, coalesce(occurred_at, created_at) AS first_at
           FROM conversions
          WHERE advertiser_id = $1 AND customer_id = $2 AND offer_id IS NOT NULL AND affiliate_id IS NOT NULL
          ORDER BY offer_id, coalesce(occurred_at, created_at), created_at) firsts
        ORDER BY first_at`,
      [advertiserId, customerId],
    );
  }

  /** Who and when of attributed conversions, for the bonus programs of their offers. */
  bonusFacts(manager: EntityManager, ids: string[]): Promise<{ offer_id: string; affiliate_id: string; goal_key: string; at: Date }[]> {
    return manager.query(
      `SELECT DISTINCT offer_id, affiliate_id, goal_key, coalesce(occurred_at, created_at) AS at
         FROM conversions WHERE id = ANY($1::uuid[]) AND offer_id IS NOT NULL AND affiliate_id IS NOT NULL`,
      [ids],
    );
  }

  /**
   * An affiliate's approved (or paid) conversions on an offer, of one goal or all, that happened
   * in [from, to) (null: ever): what a bonus threshold counts.
   */
  async approvedVolume(
    manager: EntityManager,
    q: { offerId: string; affiliateId: string; goalKey: string | null; from: Date | null; to: Date | null },
  ): Promise<{ conversions: number; saleAmount: number }> {
    const [row] = await manager.query(
      `SELECT count(*)::int AS conversions, coalesce(sum(sale_amount), 0)::text AS "saleAmount"
         FROM conversions
        WHERE offer_id = $1 AND affiliate_id = $2 AND status IN ('approved', 'paid') AND ($3::text IS NULL OR goal_key = $3)
          AND ($4::timestamptz IS NULL OR coalesce(occurred_at, created_at) >= $4) AND ($5::timestamptz IS NULL OR coalesce(occurred_at, created_at) < $5)`,
      [q.offerId, q.affiliateId, q.goalKey, q.from, q.to],
    );
    return { conversions: row.conversions, saleAmount: Number(row.saleAmount) };
  }

  /** Row mapping per data source (each test app has its own), worked out once. */
  private rows(manager: EntityManager): EntityRows<Conversion> {
    let rows = this.rowsBySource.get(manager.connection);
    if (!rows) this.rowsBySource.set(manager.connection, (rows = entityRows(manager.connection, Conversion)));
    return rows;
  }

  private readonly rowsBySource = new WeakMap<DataSource, EntityRows<Conversion>>();

  // -- the postback job --------------------------------------------------------

  find(manager: EntityManager, id: string): Promise<Conversion | null> {
    return manager.getRepository(Conversion).findOneBy({ id });
  }

  findEvent(manager: EntityManager, eventId: string): Promise<ConversionEvent | null> {
    return manager.getRepository(ConversionEvent).findOneBy({ id: eventId });
  }

  /** Whether a newer event of the conversion than `eventId` sends a postback (and so supersedes the older one's). */
  async hasNewerPartnerPostbackEvent(manager: EntityManager, conversionId: string, eventId: string): Promise<boolean> {
    const newer = await manager.query(`SELECT 1 FROM conversion_events e WHERE e.conversion_id = $1 AND e.id > $2 AND ${SENDS_PARTNER_POSTBACK} LIMIT 1`, [conversionId, eventId]);
    return newer.length > 0;
  }

  // -- commissions -----------------------------------------------------------

  /** The conversions of `ids`, locked in id order, as the postings read them. */
  lockForPosting(manager: EntityManager, ids: string[]): Promise<ConversionPostingRow[]> {
    return manager.query(LOCK_FOR_POSTING, [ids]);
  }

  /** Up to `batchSize` pending conversions whose lock period is over at `now`, locked, skipping those another approver holds. */
  lockDueForApproval(manager: EntityManager, now: Date, batchSize: number): Promise<Conversion[]> {
    return manager
      .createQueryBuilder(Conversion, 'c')
      .setLock('pessimistic_write')
      .setOnLocked('skip_locked')
      .where("c.status = 'pending' AND c.hold IS NULL AND c.approve_after <= :now", { now })
      .orderBy('c.approve_after')
      .limit(batchSize)
      .getMany();
  }

  /** The status each conversion had when it was (last) rejected or reversed. */
  async statusesBeforeEnd(manager: EntityManager, conversionIds: string[]): Promise<Map<string, string>> {
    const rows: { conversion_id: string; from_status: string | null }[] = await manager.query(
      `SELECT DISTINCT ON (conversion_id) conversion_id, from_status FROM conversion_events
       WHERE conversion_id = ANY($1::uuid[]) AND to_status IN ('reversed', 'rejected')
       ORDER BY conversion_id, id DESC`,
      [conversionIds],
    );
    return new Map(rows.filter((r) => r.from_status !== null).map((r) => [r.conversion_id, r.from_status as string]));
  }

  // -- payouts ---------------------------------------------------------------

  /** Locks the approved conversions no payout holds yet of these affiliates in `currency`, in id order. */
  async lockPayable(manager: EntityManager, affiliateIds: string[], currency: string): Promise<string[]> {
    const rows: { id: string }[] = await manager.query(
      `SELECT id FROM conversions WHERE affiliate_id = ANY($1::uuid[]) AND currency = $2 AND status = 'approved' AND payout_id IS NULL ORDER BY id FOR UPDATE`,
      [affiliateIds, currency],
    );
    return rows.map((r) => r.id);
  }

  /** Locks the conversions a payout holds, in id order. */
  async lockPaidBy(manager: EntityManager, payoutId: string): Promise<void> {
    await manager.query(`SELECT id FROM conversions WHERE payout_id = $1 ORDER BY id FOR UPDATE`, [payoutId]);
  }

  /**
   * Runs one of the lifecycle's PAYOUT_TRANSITIONS on every conversion it takes, in one
   * statement, with an event for each: only conversions in the transition's `from` status move.
   */
  async moveForPayout(manager: EntityManager, move: PayoutMove): Promise<void> {
    const { from, to, reason } = PAYOUT_TRANSITIONS[move.transition];
    const [set, where, params] =
      move.transition === 'payoutPaid'
        ? ['$1::uuid', `status = '${from}' AND payout_id IS NULL AND affiliate_id = $2 AND currency = $3`, [move.payoutId, move.affiliateId, move.currency]]
        : ['NULL', `status = '${from}' AND payout_id = $1`, [move.payoutId]];
    await manager.query(
      `WITH moved AS (
         UPDATE conversions SET status = '${to}', payout_id = ${set}, updated_at = now()
          WHERE ${where} RETURNING id, '${from}' AS from_status)
       INSERT INTO conversion_events (conversion_id, from_status, to_status, actor_type, reason)
       SELECT id, from_status, '${to}', 'system', '${reason}' FROM moved`,
      params,
    );
  }

  /**
   * `payoutPaid` for many payouts at once: each affiliate's approved, unpaid conversions in the
   * currency move to paid under its payout, with an event each, in one statement.
   */
  async movePaidForPayouts(manager: EntityManager, currency: string, payouts: { payoutId: string; affiliateId: string }[]): Promise<void> {
    if (!payouts.length) return;
    const { from, to, reason } = PAYOUT_TRANSITIONS.payoutPaid;
    await manager.query(
      `WITH moved AS (
         UPDATE conversions c SET status = '${to}', payout_id = p.payout_id, updated_at = now()
           FROM unnest($1::uuid[], $2::uuid[]) AS p(payout_id, affiliate_id)
          WHERE c.affiliate_id = p.affiliate_id AND c.currency = $3 AND c.status = '${from}' AND c.payout_id IS NULL
          RETURNING c.id, '${from}' AS from_status)
       INSERT INTO conversion_events (conversion_id, from_status, to_status, actor_type, reason)
       SELECT id, from_status, '${to}', 'system', '${reason}' FROM moved`,
      [payouts.map((p) => p.payoutId), payouts.map((p) => p.affiliateId), currency],
    );
  }

  // -- invoices --------------------------------------------------------------

  /** The advertisers and currencies with billable results approved before `periodTo` (`currency` null: all). */
  billableGroups(manager: EntityManager, currency: string | null, periodTo: Date): Promise<{ advertiser_id: string; currency: string }[]> {
    return manager.query(`SELECT DISTINCT c.advertiser_id, c.currency FROM conversions c WHERE ${BILLABLE} AND ($1::char(3) IS NULL OR c.currency = $1) ORDER BY 1, 2`, [
      currency,
      periodTo,
    ]);
  }

  /** Tags an advertiser's billable results in `currency` with the invoice, and answers exactly those it tagged. */
  tagForInvoice(manager: EntityManager, invoice: { id: string; advertiserId: string; currency: string; periodTo: Date }): Promise<InvoiceTaggedRow[]> {
    return updateReturning<InvoiceTaggedRow>(
      manager,
      // Locked in id order first, as payout runs lock theirs, so the two never deadlock; a row
      // that changed while we waited for it is re-checked by FOR UPDATE and left out.
      `WITH picked AS (SELECT c.id FROM conversions c WHERE c.advertiser_id = $1 AND c.currency = $4 AND ${BILLABLE} ORDER BY c.id FOR UPDATE)
       UPDATE conversions t SET invoice_id = $3 FROM picked p
        WHERE t.id = p.id
        RETURNING t.offer_id, t.goal_key, t.revenue::text AS revenue`,
      [invoice.advertiserId, invoice.periodTo, invoice.id, invoice.currency],
    );
  }

  /** Releases the invoice's results for the next invoice run; answers how many. */
  async releaseFromInvoice(manager: EntityManager, invoiceId: string): Promise<number> {
    return (await updateReturning(manager, `UPDATE conversions SET invoice_id = NULL WHERE invoice_id = $1 RETURNING id`, [invoiceId])).length;
  }

  /** The invoice's reversed (or, once billed, rejected) results with revenue, in id order (billing credits those it has not credited yet). */
  async reversedOnInvoice(manager: EntityManager, invoiceId: string): Promise<string[]> {
    const rows: { id: string }[] = await manager.query(
      `SELECT c.id FROM conversions c WHERE c.invoice_id = $1 AND c.status IN ('reversed', 'rejected') AND c.revenue > 0 ORDER BY c.id`,
      [invoiceId],
    );
    return rows.map((r) => r.id);
  }

  async reversedRow(manager: EntityManager, conversionId: string): Promise<ReversedRow | undefined> {
    const [conversion]: ReversedRow[] = await manager.query(`SELECT id, revenue::text, invoice_id, status FROM conversions WHERE id = $1`, [conversionId]);
    return conversion;
  }
}

export const conversionsRepository = new ConversionsRepository();
