import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { AuthPrincipal, isStaff } from '../../common/auth';
import { MoneyError, parseDecimalAmount } from '../../common/money';
import { applyRule, needsSaleAmount, RateRule, RuleContext, RuleVolume } from '../rules';
import { GroupCommit } from '../../common/batching/group-commit';
import { Page, paginate } from '../../common/pagination';
import { entityRows, EntityRows } from '../../database/entity-rows';
import { preparedQuery } from '../../database/sql';
import { OutboxService } from '../../queue/outbox/outbox.service';
import { Offer } from '../offers/offer.entity';
import { offersRepository } from '../offers/offers.repository';
import { ClickIdService } from '../tracking/click-id.service';
import { CouponsService } from '../tracking/coupons.service';
import { LinksService } from '../tracking/links.service';
import { withConversionRollups } from '../tracking/rollup-sql';
import { conversionStatusChanged } from './conversion-rollups';
import type { ClickStatus } from '../tracking/click.entity';
import { attribute, Attribution, Candidate } from './attribution';
import { capBroken, CapUsage, firstRejection, hasCaps } from './conversion-checks';
import { ConversionEvent, EventActorType } from './conversion-event.entity';
import { ACCEPTED_STATUSES, Conversion, ConversionSource, ConversionStatus } from './conversion.entity';
import { CONVERSION_TIME_SKEW_MS } from './conversion-time';
import { ConversionsError, ConversionsErrorCode, RejectionReason } from './conversions.errors';
import { ListConversionsQueryDto } from './dto/conversion.dto';
import { CommissionPostings } from './commission-postings';
import { LedgerService } from '../ledger/ledger.service';
import { ledgerRepository } from '../ledger/ledger.repository';
import { LEDGER_KINDS } from '../ledger/ledger.postings';
import { principalsRepository } from '../principals/principals.repository';
import { conversionsRepository } from './conversions.repository';
import { canTransition, canTransitionOnAppeal } from './lifecycle';
import { INTAKE_RISK_SCORER, IntakeRiskScorer } from './conversion-risk';
import { qualityDecision, reasonCodes } from '../../common/risk/risk';
import { OfferSnapshots } from './offer-snapshots';

export interface RecordConversionInput {
  advertiserId: string;
  source: ConversionSource;
  goal: string;
  txnId: string;
  clickId?: string | null;
  coupon?: string | null;
  /** A decimal string from a postback ("49.99"), or minor units from the JSON API. */
  amount?: { decimal: string } | { minor: number } | null;
  currency?: string | null;
  /** When the conversion happened, as the advertiser says (checked against our clock and the offer's window); default now. */
  occurredAt?: Date | null;
  ip?: string | null;
  userAgent?: string | null;
  /** The advertiser's id of the paying customer. */
  customerId?: string | null;
}

/** One local day and currency of a principal's conversions (charts): counts, and sums in minor units of the accepted ones. */
export interface DayTotals {
  day: string;
  currency: string;
  accepted: number;
  rejected: number;
  saleAmount: number;
  revenue?: number;
  payout?: number;
}

export interface Actor {
  type: EventActorType;
  id: string | null;
}

export interface RecordResult {
  conversion: Conversion;
  created: boolean;
}

export type ConversionDraft = Omit<Conversion, 'id' | 'createdAt' | 'updatedAt'>;
type Draft = ConversionDraft;

/** A new conversion, and the accepted pixel conversion of its txn id it supersedes, if any. */
interface Written {
  conversion: Conversion;
  pixelId: string | null;
}

/** A conversion waiting for its group commit. */
interface PendingWrite {
  draft: Draft;
  actor: Actor;
}

/** Conversions written by one statement at most, and statements under way at once (of the pool's connections). */
const WRITE_BATCH = 32;
const WRITE_CONCURRENCY = 3;

const DAY_MS = 86_400_000;
/** The status changes that outgoing webhooks announce (conversion.approved, …); a payout's own moves are not among them. */
const WEBHOOK_STATUSES: readonly ConversionStatus[] = ['approved', 'rejected', 'reversed'];
/** The longest attribution window an offer may have: no conversion time is older. */
const MAX_WINDOW_DAYS = 365;

/** Why a conversion on a click that was not allowed is rejected, by the click's status. */
const BLOCKED_CLICK_REASON: Record<Exclude<ClickStatus, 'ok'>, RejectionReason> = {
  link_archived: RejectionReason.LinkBlocked,
  offer_paused: RejectionReason.OfferInactive,
  offer_archived: RejectionReason.OfferInactive,
  affiliate_suspended: RejectionReason.AffiliateSuspended,
};

const isPixel = (input: Pick<RecordConversionInput, 'source'>) => input.source === 'pixel';

@Injectable()
export class ConversionsService {
  private readonly logger = new Logger(ConversionsService.name);
  private rowsOfConversions: EntityRows<Conversion> | null = null;
  private readonly writeSqlTexts = new Map<number, string>();
  private readonly writes = new GroupCommit<PendingWrite, Written | null>((writes) => this.writeMany(this.dataSource.manager, writes), {
    maxBatch: WRITE_BATCH,
    concurrency: WRITE_CONCURRENCY,
  });

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly snapshots: OfferSnapshots,
    private readonly clickIds: ClickIdService,
    private readonly links: LinksService,
    private readonly coupons: CouponsService,
    private readonly outbox: OutboxService,
    private readonly postings: CommissionPostings,
    private readonly ledger: LedgerService,
    @Optional() @Inject(INTAKE_RISK_SCORER) private readonly riskScorer?: IntakeRiskScorer,
  ) {}

  /**
   * Records a conversion exactly once per advertiser, goal and transaction id. Attribution,
   * checks and amounts are decided first; one statement then writes the conversion, its first
   * event, the outbox messages for its commission and postback, and its report delta (see
   * `writeSql`). A repeat writes nothing and answers the stored one.
   *
   * The unauthenticated pixel has a txn id space of its own (a unique index per space): it can
   * neither claim nor block the txn id of a postback or API call. A pixel for a txn id those
   * already hold records nothing and answers theirs; an authenticated conversion for a txn id a
   * pixel holds is recorded and the pixel's is superseded (rejected, or reversed once paid), so
   * one transaction earns once. The authenticated write finds the pixel's in its own statement
   * (no extra round trip on the hot path); the pixel looks for an authenticated one after its
   * commit, so of two racing writes one sees the other unless the pixel commits and checks
   * within the few milliseconds of the other's single statement.
   */
  async record(input: RecordConversionInput, actor: Actor): Promise<RecordResult> {
    const pixel = isPixel(input);
    if (pixel) {
      const authenticated = await this.findByTxn(this.dataSource.manager, input.advertiserId, input.goal, input.txnId);
      if (authenticated) return { conversion: authenticated, created: false };
    }
    let result: Written | null;
    try {
      result = await this.decideAndWrite(input, actor);
    } catch (error) {
      // A repeat answers the stored conversion even when its input would now be refused.
      const existing = await this.findByTxn(this.dataSource.manager, input.advertiserId, input.goal, input.txnId, pixel).catch(() => null);
      if (existing) return { conversion: existing, created: false };
      throw error;
    }
    if (!result) {
      // An earlier or concurrent duplicate holds the key: answer with it.
      const winner = await this.findByTxn(this.dataSource.manager, input.advertiserId, input.goal, input.txnId, pixel);
      if (!winner) throw new Error('conversion vanished after a unique conflict');
      return { conversion: winner, created: false };
    }
    const { conversion, pixelId } = result;
    this.outbox.notify();
    this.logger.log(`conversion ${conversion.id} ${conversion.status}${conversion.reason ? ` (${conversion.reason})` : ''} for advertiser ${conversion.advertiserId}`);
    if (pixel) {
      const authenticated = await this.findByTxn(this.dataSource.manager, input.advertiserId, input.goal, input.txnId);
      if (authenticated) {
        await this.supersede(conversion, authenticated);
        return { conversion: authenticated, created: false };
      }
    } else if (pixelId) {
      await this.supersede({ id: pixelId, status: 'pending' }, conversion);
    }
    return { conversion, created: true };
  }

  /**
   * Closes the window `record` leaves open: a pixel that committed and looked for an
   * authenticated conversion just before the authenticated one's single statement committed
   * leaves both accepted. Finds such pairs older than `graceSeconds` (younger ones are still
   * being settled by `record` itself) and supersedes the pixel's, as `record` would have.
   * Run by the sweeper; answers how many it superseded.
   */
  async supersedeRacedPixels(graceSeconds: number, limit: number): Promise<number> {
    const rows: { pixel_id: string; pixel_status: Conversion['status']; by_id: string }[] = await this.dataSource.query(
      `SELECT p.id AS pixel_id, p.status AS pixel_status, a.id AS by_id
         FROM conversions p
         JOIN conversions a ON a.advertiser_id = p.advertiser_id AND a.goal_key = p.goal_key AND a.txn_id = p.txn_id AND a.source <> 'pixel'
        WHERE p.source = 'pixel' AND p.status IN ('pending', 'approved', 'paid')
          AND greatest(p.updated_at, a.updated_at) < now() - make_interval(secs => $1)
        ORDER BY p.id LIMIT $2`,
      [graceSeconds, limit],
    );
    for (const row of rows) {
      const by = await this.dataSource.getRepository(Conversion).findOneByOrFail({ id: row.by_id });
      await this.supersede({ id: row.pixel_id, status: row.pixel_status }, by);
    }
    return rows.length;
  }

  /** Takes a pixel conversion out of the money once an authenticated one holds its txn id. */
  private async supersede(pixel: Pick<Conversion, 'id' | 'status'>, by: Conversion): Promise<void> {
    if (!ACCEPTED_STATUSES.includes(pixel.status)) return;
    const paid = await conversionsRepository.isPaid(this.dataSource.manager, pixel.id);
    try {
      await this.transition(pixel.id, paid ? 'reversed' : 'rejected', { type: 'system', id: null }, `superseded_by_${by.source}`);
      this.logger.log(`pixel conversion ${pixel.id} superseded by ${by.source} conversion ${by.id}`);
    } catch (error) {
      // The other side of a race superseded it first.
      if (error instanceof ConversionsError && error.code === ConversionsErrorCode.InvalidTransition) return;
      throw error;
    }
  }

  /**
   * Decides the conversion and writes it; null when the key was already taken. No lookup comes
   * first: the insert's ON CONFLICT answers "already there" without a round trip of its own,
   * except for a capped offer, where a repeat must not be counted or judged against the cap.
   */
  private async decideAndWrite(input: RecordConversionInput, actor: Actor): Promise<Written | null> {
    const at = conversionTime(input);
    const { attribution, offers } = await this.attribute(input, at);
    const draft = await this.draft(input, at, attribution, offers);
    const offer = draft.offerId ? offers.get(draft.offerId) : undefined;
    if (!offer || draft.status === 'rejected') return this.write(this.dataSource.manager, draft, actor);
    // Read before the transaction: nothing may wait for a second pool connection while holding one.
    const billing = await this.snapshots.billing(draft.advertiserId);
    const prepaid = billing.billingMode === 'prepaid';
    if (!hasCaps(offer.caps) && !prepaid) return this.write(this.dataSource.manager, draft, actor);

    if (await this.findByTxn(this.dataSource.manager, input.advertiserId, input.goal, input.txnId, isPixel(input))) return null;
    return this.dataSource.transaction(async (manager) => {
      if (hasCaps(offer.caps)) {
        // Serialise the conversions of a capped offer so counts cannot race past the cap.
        await offersRepository.lockForCaps(manager, offer.id);
        await this.applyCaps(manager, draft, offer);
      }
      if (!prepaid || draft.status === 'rejected') return this.write(manager, draft, actor);
      return this.writePrepaid(manager, draft, actor, billing.lowBalanceAlert);
    });
  }

  /**
   * A prepaid advertiser's conversion: its funds are locked (serialising its conversions), and
   * the conversion is written with its revenue reserved out of them in the same transaction, or,
   * when they do not cover it, pending with `hold: awaiting_funds` (never approved until a
   * top-up covers it). So no conversion is ever approved beyond the funds.
   */
  private async writePrepaid(manager: EntityManager, draft: Draft, actor: Actor, lowBalanceAlert: number | null): Promise<Written | null> {
    const currency = draft.currency as string;
    const available = await this.ledger.lockFunds(manager, draft.advertiserId, currency);
    draft.prepaid = true;
    const covered = available >= draft.revenue;
    if (!covered) Object.assign(draft, { status: 'pending', hold: 'awaiting_funds', approvedAt: null, approveAfter: draft.approveAfter ?? new Date() });
    const written = await this.write(manager, draft, actor);
    if (!written) return null;
    if (covered && draft.revenue > 0) await this.postings.reserve(manager, written.conversion);
    const left = covered ? available - draft.revenue : available;
    // The funding job pauses the offers, sends the low-balance alert (once) and covers what waits.
    if (!covered || left <= Math.max(lowBalanceAlert ?? 0, 0)) await this.outbox.enqueue(manager, 'funding.check', `${draft.advertiserId}:${currency}`);
    return written;
  }

  /**
   * Covers a prepaid advertiser's conversions waiting for funds, oldest first, while its funds
   * cover them (each: conversion locked, then the funds; reserved, hold cleared), and approves the
   * covered ones whose lock period is over. Answers how many it covered.
   */
  async coverHeld(advertiserId: string, currency: string): Promise<number> {
    let covered = 0;
    for (;;) {
      const done = await this.dataSource.transaction(async (manager) => {
        const held = await conversionsRepository.lockOldestAwaitingFunds(manager, advertiserId, currency);
        if (!held) return null;
        const available = await this.ledger.lockFunds(manager, advertiserId, currency);
        if (available < held.revenue) return null;
        if (held.revenue > 0) await this.postings.reserve(manager, held);
        await conversionsRepository.clearHold(manager, held.id);
        return held;
      });
      if (!done) return covered;
      covered += 1;
      if (done.approveAfter && done.approveAfter.getTime() <= Date.now()) {
        await this.transition(done.id, 'approved', { type: 'system', id: null }, 'funds arrived').catch((error) => {
          if (!(error instanceof ConversionsError && error.code === ConversionsErrorCode.InvalidTransition)) throw error;
        });
      }
    }
  }

  /**
   * Releases what waits for the funds of advertisers billed by invoice again (switched back from
   * prepaid): the hold is cleared, so the lock-period job approves those conversions as any
   * invoiced one. One whose revenue was reserved stays prepaid (its approval spends the reserve);
   * the others, never reserved, are no longer prepaid and go on the advertiser's invoice. Answers
   * how many it released.
   */
  async releaseFundsHoldsOfInvoiced(): Promise<number> {
    let released = 0;
    for (const advertiserId of await conversionsRepository.advertisersAwaitingFunds(this.dataSource.manager)) {
      released += await this.dataSource.transaction(async (manager) => {
        if ((await principalsRepository.billing(manager, advertiserId))?.billingMode !== 'invoice') return 0;
        const held = await conversionsRepository.lockAwaitingFundsOf(manager, advertiserId);
        if (!held.length) return 0;
        const posted = await ledgerRepository.postedKinds(manager, 'conversion', held);
        await conversionsRepository.releaseHolds(
          manager,
          held,
          held.filter((id) => posted.get(id)?.has(LEDGER_KINDS.fundingReserve)),
        );
        return held.length;
      });
    }
    return released;
  }

  /**
   * Writes `draft` with `writeSql`: the stored conversion, or null when its key was already taken.
   * Outside a transaction, the writes of concurrent postbacks are grouped (group commit): one
   * statement and one commit for up to WRITE_BATCH conversions, each caller answered with its own
   * row; a batch that fails is written again one conversion at a time, so an error reaches only
   * the caller whose conversion caused it.
   */
  private write(manager: EntityManager, draft: Draft, actor: Actor): Promise<Written | null> {
    if (manager === this.dataSource.manager) return this.writes.submit({ draft, actor });
    return this.writeMany(manager, [{ draft, actor }]).then(([written]) => written);
  }

  private async writeMany(manager: EntityManager, writes: PendingWrite[]): Promise<(Written | null)[]> {
    // Ids are chosen here, so that each caller finds its own row among those the statement answers.
    const ids = writes.map(() => randomUUID());
    // Rows in key order: two batches holding the same keys (replays) wait for each other instead of deadlocking.
    const order = writes.map((_, i) => i).sort((a, b) => compareKeys(writes[a].draft, writes[b].draft));
    const params: unknown[] = [];
    for (const i of order) params.push(ids[i], ...this.conversionRows.insertValues(writes[i].draft).params);
    for (const i of order) params.push(ids[i], writes[i].actor.type, writes[i].actor.id);
    const rows = await preparedQuery<Record<string, unknown>>(manager, `conversions.write.${writes.length}`, this.writeSql(writes.length), params);
    const byId = new Map(rows.map((row) => [row.id as string, row]));
    return ids.map((id) => {
      const row = byId.get(id);
      return row ? { conversion: this.conversionRows.toEntity(row), pixelId: (row.superseded_pixel_id as string | null) ?? null } : null;
    });
  }

  /**
   * One statement for `n` new conversions: the rows (ON CONFLICT DO NOTHING: a duplicate, however
   * concurrent, writes nothing for its row, and so nothing else for it either), each one's first
   * event, the outbox rows that OutboxService.enqueue would write for an accepted one, and its
   * report delta. Parameters: per row its id and columns, then per row its id and actor.
   */
  private writeSql(n: number): string {
    const cached = this.writeSqlTexts.get(n);
    if (cached) return cached;
    const { columns, params } = this.conversionRows.insertValues({});
    const width = params.length + 1;
    const placeholders = (from: number, count: number, casts: string[] = []) => Array.from({ length: count }, (_, i) => `$${from + i}${casts[i] ?? ''}`).join(', ');
    const values = Array.from({ length: n }, (_, r) => `(${placeholders(r * width + 1, width)})`).join(', ');
    const actors = Array.from({ length: n }, (_, r) => `(${placeholders(n * width + r * 3 + 1, 3, ['::uuid', '::text', '::uuid'])})`).join(', ');
    // One conversion: its click by parameters (the partitions pruned as the plan starts); more: each one's own, per row.
    const column = (name: string) => `$${2 + columns.split(', ').indexOf(`"${name}"`)}`;
    const click = n === 1 ? { at: `${column('clicked_at')}::timestamptz`, id: `${column('click_id')}::text` } : { at: 'c.clicked_at', id: 'c.click_id', lateral: true };
    const sql = withConversionRollups(
      `INSERT INTO conversions (id, ${columns}) VALUES ${values} ON CONFLICT DO NOTHING`,
      click,
      [
        `actors (id, actor_type, actor_id) AS (VALUES ${actors})`,
        `event AS (
          INSERT INTO conversion_events (conversion_id, from_status, to_status, actor_type, actor_id, reason)
          SELECT i.id, NULL, i.status, a.actor_type, a.actor_id, i.reason FROM inserted i JOIN actors a ON a.id = i.id RETURNING id, conversion_id)`,
        `messages AS (
          INSERT INTO outbox (topic, aggregate_id, payload)
          SELECT m.topic, i.id::text, CASE WHEN m.with_event THEN jsonb_build_object('eventId', e.id::text) ELSE '{}'::jsonb END
            FROM inserted i JOIN event e ON e.conversion_id = i.id
            CROSS JOIN (VALUES (1, 'conversion.recorded', false), (2, 'postback.send', true), (3, 'webhook.conversion', true)) AS m (n, topic, with_event)
           WHERE i.status IN ('pending', 'approved')
           ORDER BY i.id, m.n)`,
      ],
      // Named columns, not *: a column a later migration adds must not change the prepared statement's result type.
      // And an accepted pixel conversion of the same txn id, which an authenticated one supersedes.
      `${this.conversionRows.columns},
       (SELECT p.id FROM conversions p
         WHERE inserted.source <> 'pixel' AND p.source = 'pixel' AND p.advertiser_id = inserted.advertiser_id
           AND p.goal_key = inserted.goal_key AND p.txn_id = inserted.txn_id AND p.status IN ('pending', 'approved', 'paid')) AS superseded_pixel_id`,
    );
    this.writeSqlTexts.set(n, sql);
    return sql;
  }

  private get conversionRows(): EntityRows<Conversion> {
    return (this.rowsOfConversions ??= entityRows(this.dataSource, Conversion));
  }

  async transition(id: string, to: ConversionStatus, actor: Actor, reason: string | null, scope?: AuthPrincipal): Promise<Conversion> {
    const changed = await this.dataSource.transaction(async (manager) => {
      const conversion = await conversionsRepository.lockOne(manager, { id, ...(scope ? scopeWhere(scope) : {}) });
      if (!conversion) throw ConversionsError.notFound();
      return this.applyTransition(manager, conversion, to, actor, reason);
    });
    this.outbox.notify();
    return changed;
  }

  /**
   * What `record` would decide for this input (attribution, checks, caps, amounts), writing
   * nothing: the advertiser's integration test tool. A repeat answers the stored conversion.
   */
  async preview(input: RecordConversionInput): Promise<{ existing: Conversion | null; draft: ConversionDraft | null }> {
    const existing = await this.findByTxn(this.dataSource.manager, input.advertiserId, input.goal, input.txnId);
    if (existing) return { existing, draft: null };
    const at = conversionTime(input);
    const { attribution, offers } = await this.attribute(input, at);
    const draft = await this.draft(input, at, attribution, offers);
    await this.applyCaps(this.dataSource.manager, draft, draft.offerId ? offers.get(draft.offerId) : undefined);
    return { existing: null, draft };
  }

  /** A `status=reversed` postback: reverses the conversion it names. */
  async reverseByTxn(advertiserId: string, goal: string, txnId: string, actor: Actor): Promise<Conversion> {
    const found = await this.findByTxn(this.dataSource.manager, advertiserId, goal, txnId);
    if (!found) throw ConversionsError.notFound();
    if (found.status === 'reversed') return found;
    return this.transition(found.id, 'reversed', actor, 'reversed by postback');
  }

  /**
   * Changes the status of a locked conversion, with its event, its outbox messages and, in the
   * same transaction, the ledger entries the new status means (a payout run must never see one
   * without the other). `post: false` is for a caller that posts a whole batch itself, still
   * inside this transaction (approveDue).
   */
  async applyTransition(
    manager: EntityManager,
    conversion: Conversion,
    to: ConversionStatus,
    actor: Actor,
    reason: string | null,
    options: { post?: boolean; appeal?: boolean } = {},
  ): Promise<Conversion> {
    const from = conversion.status;
    const allowed = options.appeal ? canTransitionOnAppeal(from, to, conversion.reason) : canTransition(from, to);
    if (!allowed) throw ConversionsError.invalidTransition(from, to);
    if (to === 'approved' && conversion.hold === 'awaiting_funds') throw ConversionsError.awaitingFunds();
    conversion.status = to;
    // A decision ends a hold: the conversion no longer waits for anything.
    if (to !== 'pending') conversion.hold = null;
    if (to === 'approved') conversion.approvedAt = new Date();
    if (to === 'rejected' || to === 'reversed') {
      conversion.reason = reason ?? conversion.reason;
    }
    await conversionsRepository.saveStatus(manager, conversion);
    await conversionStatusChanged(manager, conversion, from, to);
    const event = await this.addEvent(manager, conversion.id, from, to, actor, reason);
    if (options.post !== false) await this.postings.postMissingLocked(manager, [conversion]);
    // Still relayed: the commissions job finds the entries posted and does nothing, but it
    // would post anything a conversion recorded before this change was still waiting for.
    await this.outbox.enqueue(manager, 'conversion.status_changed', conversion.id, { eventId: event.id, from, to });
    // A billed result that is reversed, or rejected after billing, is credited on its invoice (billing).
    if ((to === 'reversed' || to === 'rejected') && conversion.invoiceId) await this.outbox.enqueue(manager, 'invoice.result_reversed', conversion.id);
    if (conversion.affiliateId) await this.outbox.enqueue(manager, 'postback.send', conversion.id, { eventId: event.id });
    if (WEBHOOK_STATUSES.includes(to)) await this.outbox.enqueue(manager, 'webhook.conversion', conversion.id, { eventId: event.id });
    return conversionsRepository.getOrFail(manager, conversion.id);
  }

  async get(id: string, scope: AuthPrincipal): Promise<{ conversion: Conversion; events: ConversionEvent[] }> {
    const conversion = await conversionsRepository.findWhere(this.dataSource.manager, { id, ...scopeWhere(scope) });
    if (!conversion) throw ConversionsError.notFound();
    const events = await conversionsRepository.events(this.dataSource.manager, id);
    return { conversion, events };
  }

  async list(scope: AuthPrincipal, query: ListConversionsQueryDto): Promise<Page<Conversion>> {
    const qb = conversionsRepository.listQuery(this.dataSource.manager);
    if (scope.role === 'advertiser') qb.andWhere('c.advertiser_id = :me', { me: scope.id });
    if (scope.role === 'affiliate') qb.andWhere('c.affiliate_id = :me', { me: scope.id });
    if (query.status) qb.andWhere('c.status = :status', { status: query.status });
    if (query.offerId) qb.andWhere('c.offer_id = :offerId', { offerId: query.offerId });
    if (query.affiliateId && scope.role !== 'affiliate') qb.andWhere('c.affiliate_id = :affiliateId', { affiliateId: query.affiliateId });
    if (query.advertiserId && isStaff(scope)) qb.andWhere('c.advertiser_id = :advertiserId', { advertiserId: query.advertiserId });
    if (query.txnId) qb.andWhere('c.txn_id = :txnId', { txnId: query.txnId });
    if (query.from) qb.andWhere('c.created_at >= :from', { from: query.from });
    if (query.to) qb.andWhere('c.created_at < :to', { to: query.to });
    if (query.hold) qb.andWhere(`c.status = 'pending' AND c.hold = :hold`, { hold: query.hold });
    if (query.riskReason) qb.andWhere('c.risk_reasons @> :riskReason::jsonb', { riskReason: JSON.stringify([{ code: query.riskReason }]) });
    return paginate(qb, 'c', query);
  }

  /** Conversions per local day of `timezone` and currency, scoped like `list`; revenue left out for affiliates, payout for advertisers. */
  async perDay(scope: AuthPrincipal, range: { from: Date; to: Date; timezone: string }): Promise<DayTotals[]> {
    const where = scopeWhere(scope);
    const rows = await conversionsRepository.perDay(this.dataSource.manager, range, where);
    return rows.map((r) => ({
      day: r.day,
      currency: r.currency,
      accepted: Number(r.accepted),
      rejected: Number(r.rejected),
      saleAmount: Number(r.saleAmount),
      ...(scope.role === 'affiliate' ? {} : { revenue: Number(r.revenue) }),
      ...(scope.role === 'advertiser' ? {} : { payout: Number(r.payout) }),
    }));
  }

  private findByTxn(manager: EntityManager, advertiserId: string, goalKey: string, txnId: string, pixel = false): Promise<Conversion | null> {
    return conversionsRepository.findByTxn(manager, advertiserId, goalKey, txnId, pixel);
  }

  private async attribute(input: RecordConversionInput, at: Date): Promise<{ attribution: Attribution; offers: Map<string, Offer> }> {
    let click: Candidate | null = null;
    let clickProblem: string | null = null;
    if (input.clickId) {
      const verified = this.clickIds.verify(input.clickId);
      const link = verified ? await this.links.context(verified.linkId) : null;
      if (!verified) clickProblem = 'invalid_click_id';
      else if (!link) clickProblem = 'unknown_link';
      else {
        click = {
          by: 'click',
          offerId: link.offerId,
          affiliateId: link.affiliateId,
          advertiserId: link.advertiserId,
          linkId: link.linkId,
          clickedAt: verified.clickedAt,
          clickStatus: verified.status,
        };
      }
    }
    let coupon: Candidate | null = null;
    let couponProblem: string | null = null;
    if (input.coupon) {
      const found = await this.coupons.findActive(input.advertiserId, input.coupon);
      if (found) coupon = { by: 'coupon', offerId: found.offerId, affiliateId: found.affiliateId, advertiserId: input.advertiserId };
      else couponProblem = 'unknown_coupon';
    }
    const offers = await this.snapshots.offers([click?.offerId, coupon?.offerId].filter((x): x is string => !!x));
    const attribution = attribute({ advertiserId: input.advertiserId, at, click, clickProblem, coupon, couponProblem, offerRules: (id) => offers.get(id) });
    if (attribution.ok || input.clickId || input.coupon || !input.customerId || isPixel(input)) return { attribution, offers };
    return this.attributeByCustomer(input, input.customerId, at);
  }

  /**
   * A conversion without click or coupon on a recurring goal: credited to the affiliate of its
   * customer's first conversion on the offer, while within the goal's `months` of that first one.
   */
  private async attributeByCustomer(input: RecordConversionInput, customerId: string, at: Date): Promise<{ attribution: Attribution; offers: Map<string, Offer> }> {
    const firsts = await conversionsRepository.customerFirsts(this.dataSource.manager, input.advertiserId, customerId);
    const offers = await this.snapshots.offers(firsts.map((f) => f.offer_id));
    let reason = 'no_click_or_coupon';
    for (const first of firsts) {
      const recurring = offers.get(first.offer_id)?.goals.find((g) => g.key === input.goal)?.recurring;
      if (!recurring) continue;
      const firstAt = new Date(first.first_at);
      if (recurring.months !== null && at.getTime() >= addMonths(firstAt, recurring.months).getTime()) {
        reason = 'customer_outside_window';
        continue;
      }
      const winner: Candidate = { by: 'customer', offerId: first.offer_id, affiliateId: first.affiliate_id, advertiserId: input.advertiserId, linkId: first.link_id ?? undefined };
      return { attribution: { ok: true, winner }, offers };
    }
    return { attribution: { ok: false, reason }, offers };
  }

  /** Everything about the conversion but the cap check, which needs the transaction. */
  private async draft(input: RecordConversionInput, at: Date, attribution: Attribution, offers: Map<string, Offer>): Promise<Draft> {
    const base: Draft = {
      advertiserId: input.advertiserId,
      offerId: null,
      goalId: null,
      goalKey: input.goal,
      affiliateId: null,
      linkId: null,
      clickId: input.clickId ?? null,
      clickedAt: null,
      couponId: null,
      couponCode: input.coupon ?? null,
      attributedBy: null,
      txnId: input.txnId,
      saleAmount: null,
      currency: input.currency ?? null,
      revenue: 0,
      payout: 0,
      revenueRule: null,
      payoutRule: null,
      rounding: {},
      status: 'unattributed',
      reason: null,
      reasonDetail: null,
      source: input.source,
      occurredAt: input.occurredAt ?? null,
      ip: input.ip ?? null,
      userAgent: input.userAgent?.slice(0, 1000) ?? null,
      customerId: input.customerId ?? null,
      approveAfter: null,
      hold: null,
      riskScore: null,
      riskReasons: null,
      riskCheckedAt: null,
      approvedAt: null,
      payoutId: null,
      invoiceId: null,
      prepaid: false,
    };
    if (!attribution.ok) {
      base.reason = attribution.reason;
      if (isPixel(input)) base.currency = null;
      else base.saleAmount = input.currency ? this.saleAmount(input, input.currency) : null;
      return base;
    }
    const winner = attribution.winner;
    const offer = offers.get(winner.offerId) as Offer;
    if (input.occurredAt && Date.now() - input.occurredAt.getTime() > offer.attributionWindowDays * DAY_MS) {
      throw ConversionsError.invalidConversionTime(`is older than the offer's attribution window of ${offer.attributionWindowDays} days`);
    }
    // Anyone can fire a pixel: its amount (and currency) count only where the offer says so.
    const trusted = !isPixel(input) || offer.pixelAmounts;
    const currency = (trusted ? input.currency : null) ?? offer.currency;
    const saleAmount = trusted ? this.saleAmount(input, currency) : null;
    Object.assign(base, {
      offerId: offer.id,
      affiliateId: winner.affiliateId,
      linkId: winner.linkId ?? null,
      clickedAt: winner.by === 'click' ? (winner.clickedAt ?? null) : null,
      attributedBy: winner.by,
      currency,
      saleAmount,
    });
    if (winner.by === 'coupon') {
      const coupon = await this.coupons.findActive(input.advertiserId, input.coupon as string);
      base.couponId = coupon?.id ?? null;
      base.couponCode = coupon?.code ?? input.coupon ?? null;
    }

    const goal = offer.goals.find((g) => g.key === input.goal);
    if (!goal) return Object.assign(base, rejected(RejectionReason.UnknownGoal, input.goal));
    const payoutRule: RateRule = goal.overrides?.find((o) => o.affiliateId === winner.affiliateId)?.payout ?? goal.payout;
    if ((needsSaleAmount(goal.revenue) || needsSaleAmount(payoutRule)) && saleAmount === null) {
      if (!trusted)
        return Object.assign(base, { goalId: goal.id }, rejected(RejectionReason.PixelAmountNotTrusted, 'the offer does not take amounts from the pixel (pixelAmounts)'));
      throw ConversionsError.amountRequired(goal.key);
    }
    // Counted once, and only if a rule asks (flat and percent never do).
    let volume: Promise<RuleVolume> | null = null;
    const monthlyVolume = () =>
      (volume ??= conversionsRepository.monthlyVolume(this.dataSource.manager, {
        offerId: offer.id,
        goalKey: goal.key,
        affiliateId: winner.affiliateId,
        at,
        timezone: offer.timezone,
      }));
    const context: RuleContext = { saleAmount, currency, monthlyVolume };
    const revenue = await applyRule(goal.revenue, context);
    const payout = await applyRule(payoutRule, context);
    Object.assign(base, {
      goalId: goal.id,
      revenue: revenue.amount,
      payout: payout.amount,
      revenueRule: revenue.applied ?? goal.revenue,
      payoutRule: payout.applied ?? payoutRule,
      rounding: { revenue: revenue.rounding, payout: payout.rounding },
    });

    if (this.riskScorer) {
      const risk = await this.riskScorer.intake(base, offer, at);
      Object.assign(base, { riskScore: risk.score, riskReasons: risk.reasons });
    }
    if (winner.clickStatus && winner.clickStatus !== 'ok') return Object.assign(base, rejected(BLOCKED_CLICK_REASON[winner.clickStatus], winner.clickStatus));

    const rejection = firstRejection({
      // An offer paused by its advertiser's funds still takes the conversions of its clicks (they wait for funds).
      offerStatus: offer.pausedReason === 'funds' ? 'active' : offer.status,
      affiliateStatus: (await this.snapshots.principalStatus(winner.affiliateId)) ?? 'missing',
      hasAccess: await this.snapshots.hasAccess(offer, winner.affiliateId),
      offerCurrency: offer.currency,
      currency,
      clickedAt: base.clickedAt,
      at,
      minClickToConversionSeconds: offer.minClickToConversionSeconds,
    });
    if (rejection) return Object.assign(base, rejected(rejection, null));

    // The lock period runs from when we learn of the conversion, whenever it happened.
    const now = new Date();
    const decision = base.riskScore === null ? null : qualityDecision(base.riskScore, offer.quality);
    if (decision === 'reject') return Object.assign(base, rejected(RejectionReason.Risk, reasonCodes({ score: base.riskScore as number, reasons: base.riskReasons ?? [] })));
    if (decision === 'hold') {
      // Held for review: pending whatever the lock period, and never approved by the lock-period job.
      return Object.assign(base, { status: 'pending', hold: 'review', approveAfter: new Date(now.getTime() + offer.lockPeriodDays * DAY_MS) });
    }
    if (offer.lockPeriodDays === 0) {
      return Object.assign(base, { status: 'approved', approvedAt: now });
    }
    return Object.assign(base, { status: 'pending', approveAfter: new Date(now.getTime() + offer.lockPeriodDays * DAY_MS) });
  }

  private saleAmount(input: RecordConversionInput, currency: string): number | null {
    if (!input.amount) return null;
    if ('minor' in input.amount) return input.amount.minor;
    try {
      return parseDecimalAmount(input.amount.decimal, currency);
    } catch (error) {
      if (error instanceof MoneyError) throw ConversionsError.invalidAmount('amount', error.message);
      throw error;
    }
  }

  private async applyCaps(manager: EntityManager, draft: Draft, offer: Offer | undefined): Promise<void> {
    if (!offer || draft.status === 'rejected' || !hasCaps(offer.caps)) return;
    const at = draft.occurredAt ?? new Date();
    const cap = capBroken(offer.caps, await this.capUsage(manager, offer, draft.affiliateId as string, at), draft.revenue);
    if (cap) Object.assign(draft, rejected(RejectionReason.CapReached, cap));
  }

  /**
   * Accepted conversions of the offer (and of the affiliate on it) in the calendar day and month
   * of the offer's time zone that hold `at`, each counted at the time it happened: a late batch
   * counts against the day its conversions belong to, not the day it arrives.
   */
  private async capUsage(manager: EntityManager, offer: Offer, affiliateId: string, at: Date): Promise<CapUsage> {
    const [row] = await manager.query(
      `WITH starts AS (
         SELECT date_trunc('day', $3::timestamptz, $4) AS day, date_trunc('month', $3::timestamptz, $4) AS month),
       periods AS (
         SELECT day, ((day AT TIME ZONE $4) + interval '1 day') AT TIME ZONE $4 AS day_end,
                month, ((month AT TIME ZONE $4) + interval '1 month') AT TIME ZONE $4 AS month_end FROM starts),
       accepted AS (
         SELECT affiliate_id, revenue, coalesce(occurred_at, created_at) AS t
           FROM conversions WHERE offer_id = $1 AND status IN ('pending', 'approved', 'paid'))
       SELECT
         count(*) FILTER (WHERE t >= p.day AND t < p.day_end)::int AS day,
         count(*) FILTER (WHERE t >= p.month AND t < p.month_end)::int AS month,
         count(*)::int AS total,
         count(*) FILTER (WHERE affiliate_id = $2 AND t >= p.day AND t < p.day_end)::int AS "affiliateDay",
         count(*) FILTER (WHERE affiliate_id = $2 AND t >= p.month AND t < p.month_end)::int AS "affiliateMonth",
         count(*) FILTER (WHERE affiliate_id = $2)::int AS "affiliateTotal",
         coalesce(sum(revenue), 0)::bigint AS revenue
       FROM accepted CROSS JOIN periods p`,
      [offer.id, affiliateId, at, offer.timezone],
    );
    return { ...row, revenue: Number(row.revenue) };
  }

  private addEvent(
    manager: EntityManager,
    conversionId: string,
    from: ConversionStatus | null,
    to: ConversionStatus,
    actor: Actor,
    reason: string | null,
  ): Promise<ConversionEvent> {
    return conversionsRepository.addEvent(manager, { conversionId, from, to, actorType: actor.type, actorId: actor.id, reason });
  }
}

/** When the conversion happened: the advertiser's time where given and plausible, else now. */
function conversionTime(input: RecordConversionInput): Date {
  const now = Date.now();
  const at = input.occurredAt;
  if (!at) return new Date(now);
  if (at.getTime() - now > CONVERSION_TIME_SKEW_MS) throw ConversionsError.invalidConversionTime('is in the future');
  if (now - at.getTime() > MAX_WINDOW_DAYS * DAY_MS) throw ConversionsError.invalidConversionTime(`is older than ${MAX_WINDOW_DAYS} days`);
  return at;
}

/** The same day of the month `months` later, in UTC (a day the later month lacks runs over into the next). */
function addMonths(from: Date, months: number): Date {
  const to = new Date(from.getTime());
  to.setUTCMonth(to.getUTCMonth() + months);
  return to;
}

/** The order of two conversions' unique keys. */
function compareKeys(a: Draft, b: Draft): number {
  return a.advertiserId < b.advertiserId
    ? -1
    : a.advertiserId > b.advertiserId
      ? 1
      : a.goalKey < b.goalKey
        ? -1
        : a.goalKey > b.goalKey
          ? 1
          : a.txnId < b.txnId
            ? -1
            : a.txnId > b.txnId
              ? 1
              : 0;
}

function rejected(reason: RejectionReason, detail: string | null): Partial<Draft> {
  return { status: 'rejected', reason, reasonDetail: detail, approveAfter: null, approvedAt: null };
}

/** The rows a principal may see: advertisers their own, affiliates theirs, staff all. */
export function scopeWhere(scope: AuthPrincipal): Partial<Record<'advertiserId' | 'affiliateId', string>> {
  if (scope.role === 'advertiser') return { advertiserId: scope.id };
  if (scope.role === 'affiliate') return { affiliateId: scope.id };
  return {};
}
