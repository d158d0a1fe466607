import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager, QueryFailedError } from 'typeorm';
import { AuthPrincipal, isStaff } from '../../common/auth';
import { invalidField } from '../../common/errors';
import { addMinor } from '../../common/money';
import { Page, paginate } from '../../common/pagination';
import { Principal } from '../accounts/principal.entity';
import { AffiliateBalanceView, EarningsView, JournalEntryView, JournalLineView, ListAccountsQueryDto, ListEntriesQueryDto } from './dto/ledger.dto';
import { CauseType, JournalEntry } from './journal-entry.entity';
import { AccountType, AFFILIATE_ACCOUNT_TYPES, LedgerAccount } from './ledger-account.entity';
import { LedgerError, LedgerErrorCode } from './ledger.errors';
import { AccountRef, CheckedLine, checkPosting, LEDGER_KINDS, PostingInput } from './ledger.postings';

/*
 * LOCK ORDER, the one every transaction that moves money follows (so none waits on another in a cycle):
 *   1. conversions, in id order (FOR UPDATE: their status changes);
 *   2. affiliate accounts (affiliate_pending, affiliate_available, affiliate_clawback), in id order;
 *   3. every other account (advertiser_receivable, network_margin, stripe_clearing,
 *      network_adjustments), in id order.
 * A transaction that locks in two statements (a payout planning, a reversal that reads the
 * available balance first) takes a whole step in one statement and never goes back a step.
 * Accounts are locked FOR NO KEY UPDATE, never FOR UPDATE: the journal lines' foreign key takes
 * FOR KEY SHARE on each account a line names, including accounts whose net change is zero and
 * so are not locked by the posting; KEY SHARE conflicts with FOR UPDATE but not with NO KEY UPDATE.
 */

export interface PostResult {
  entryId: string;
  /** False when an entry for the same (causeType, causeId, kind) already existed: nothing was posted. */
  created: boolean;
}

/** The network's own accounts have no owner; the unique index keys them under the nil uuid. */
const ownerKey = (column: string) => `COALESCE(${column}, '00000000-0000-0000-0000-000000000000'::uuid)`;
const identityKey = (type: string, ownerId: string | null, currency: string) => `${type}|${ownerId ?? ''}|${currency}`;
const ascending = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Affiliate accounts sort before the others (see the lock order above). */
const NETWORK_SIDE_LAST = `(a.type NOT IN ('affiliate_pending', 'affiliate_available', 'affiliate_clawback'))`;

/** Step 2 of the lock order for a set of affiliates: all their accounts (in $2, or every currency), in id order. */
const LOCK_AFFILIATE_ACCOUNTS = `
  SELECT a.id, a.type, a.owner_id, a.currency, a.balance::text AS balance FROM ledger_accounts a
   WHERE a.owner_id = ANY($1::uuid[]) AND a.type IN ('affiliate_pending', 'affiliate_available', 'affiliate_clawback')
     AND ($2::char(3) IS NULL OR a.currency = $2)
   ORDER BY a.id
   FOR NO KEY UPDATE`;

const FIND_ACCOUNTS = `
  SELECT a.id, a.type, a.owner_id, a.currency
  FROM unnest($1::text[], $2::uuid[], $3::char(3)[]) AS w(type, owner_id, currency)
  JOIN ledger_accounts a ON a.type = w.type AND ${ownerKey('a.owner_id')} = ${ownerKey('w.owner_id')} AND a.currency = w.currency`;

const CREATE_ACCOUNTS = `
  INSERT INTO ledger_accounts (type, owner_id, currency)
  SELECT * FROM unnest($1::text[], $2::uuid[], $3::char(3)[])
  ON CONFLICT (type, (${ownerKey('owner_id')}), currency) DO NOTHING`;

/**
 * One statement writes the entries, their lines and the cached balances; an entry that already
 * exists (same cause and kind) writes nothing, not even its lines. Each line names its entry by
 * ordinality in the entries' arrays. Balances move by the sum of the lines actually inserted.
 * Accounts are locked in the lock order (top of this file); the MATERIALIZED CTE is what takes
 * those locks before any balance moves.
 */
const POST_ENTRIES = `
  WITH wanted AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::uuid[], $6::timestamptz[])
      WITH ORDINALITY AS w(kind, cause_type, cause_id, memo, created_by, effective_at, n)
  ), entry AS (
    INSERT INTO journal_entries (kind, cause_type, cause_id, memo, created_by, effective_at)
    SELECT kind, cause_type, cause_id, memo, created_by, COALESCE(effective_at, now()) FROM wanted ORDER BY n
    ON CONFLICT (cause_type, cause_id, kind) DO NOTHING
    RETURNING id, kind, cause_type, cause_id, effective_at
  ), lines AS (
    INSERT INTO journal_lines (entry_id, kind, effective_at, account_id, currency, amount)
    SELECT entry.id, entry.kind, entry.effective_at, l.account_id, l.currency, l.amount
    FROM unnest($7::bigint[], $8::uuid[], $9::char(3)[], $10::bigint[]) WITH ORDINALITY AS l(entry_n, account_id, currency, amount, n)
    JOIN wanted ON wanted.n = l.entry_n
    JOIN entry ON entry.cause_type = wanted.cause_type AND entry.cause_id = wanted.cause_id AND entry.kind = wanted.kind
    ORDER BY l.n
    RETURNING account_id, amount
  ), delta AS (
    SELECT account_id AS id, sum(amount) AS delta FROM lines GROUP BY account_id HAVING sum(amount) <> 0
  ), locked AS MATERIALIZED (
    SELECT a.id FROM ledger_accounts a
    WHERE a.id IN (SELECT id FROM delta)
    ORDER BY ${NETWORK_SIDE_LAST}, a.id
    FOR NO KEY UPDATE
  ), moved AS (
    UPDATE ledger_accounts a SET balance = a.balance + delta.delta
    FROM locked JOIN delta ON delta.id = locked.id
    WHERE a.id = locked.id
  )
  SELECT id, cause_type, cause_id, kind FROM entry`;

const FIND_ENTRIES = `
  SELECT e.id, e.cause_type, e.cause_id, e.kind
  FROM unnest($1::text[], $2::text[], $3::text[]) AS w(cause_type, cause_id, kind)
  JOIN journal_entries e ON e.cause_type = w.cause_type AND e.cause_id = w.cause_id AND e.kind = w.kind`;

/** The CHECK that keeps affiliate_available at or below zero (debit positive). */
const AVAILABLE_GUARD = 'ledger_accounts_available_not_negative';

/** The key of `lockAffiliateAccounts`' answer. */
export const availableKey = (affiliateId: string, currency: string) => `${affiliateId.toLowerCase()}|${currency}`;

const entryKey = (causeType: string, causeId: string, kind: string) => `${causeType}|${causeId}|${kind}`;

/**
 * `paid` counts the payout entries' lines on the affiliate's available and clawback accounts:
 * a payout debits available by A + C and credits clawback by C, so its lines there sum to A, the
 * cash sent; a payout_reversal sums to −A. Clawback netted off a payout is not counted as paid,
 * so pending + available + paid − clawback is always what the affiliate has earned, net of reversals.
 */
const AFFILIATE_BALANCES = `
  SELECT a.currency, a.type, a.balance::text AS balance,
    (SELECT COALESCE(sum(l.amount), 0) FROM journal_lines l
      WHERE l.account_id = a.id AND l.kind IN ('${LEDGER_KINDS.payout}', '${LEDGER_KINDS.payoutReversal}'))::text AS paid
  FROM ledger_accounts a
  WHERE a.owner_id = $1 AND a.type = ANY($2::text[]) AND ($3::text IS NULL OR a.currency = $3)
  ORDER BY a.id`;

/** Cached balances and sums come back from PostgreSQL as bigint strings. */
export function toMinor(value: string | number): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new Error(`ledger amount ${String(value)} is outside the safe integer range`);
  return n;
}

@Injectable()
export class LedgerService {
  private readonly logger = new Logger(LedgerService.name);

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /**
   * Posts one entry inside the caller's transaction (pass its manager). Idempotent by
   * (causeType, causeId, kind): a second post, sequential or concurrent, writes nothing and
   * answers the first entry's id with `created: false`. Call it under READ COMMITTED.
   */
  async post(manager: EntityManager, input: PostingInput): Promise<PostResult> {
    const [result] = await this.postMany(manager, [input]);
    return result;
  }

  /**
   * Posts many entries at once, each checked and idempotent exactly as `post` is, in a few
   * statements whatever their number; the results come back in the order of `inputs`. Two
   * inputs with the same (causeType, causeId, kind) are refused: one of them could not post.
   */
  async postMany(manager: EntityManager, inputs: PostingInput[]): Promise<PostResult[]> {
    if (!inputs.length) return [];
    const checked = inputs.map((input) => ({ input, lines: checkPosting(input) }));
    const keys = inputs.map((i) => entryKey(i.causeType, i.causeId, i.kind));
    if (new Set(keys).size !== keys.length) throw LedgerError.posting(LedgerErrorCode.InvalidEntry, 'an entry is posted twice in one batch');
    const accounts = await this.accountIds(
      manager,
      checked.flatMap((c) => c.lines),
    );
    const accountOf = (l: CheckedLine) => accounts.get(identityKey(l.type, l.ownerId, l.currency)) as string;
    const lines = checked.flatMap((c, i) => c.lines.map((l) => ({ n: i + 1, account: accountOf(l), currency: l.currency, amount: l.amount })));
    const rows: { id: string; cause_type: string; cause_id: string; kind: string }[] = await this.write(manager, POST_ENTRIES, [
      inputs.map((i) => i.kind),
      inputs.map((i) => i.causeType),
      inputs.map((i) => i.causeId),
      inputs.map((i) => i.memo ?? null),
      inputs.map((i) => i.createdBy ?? null),
      inputs.map((i) => i.effectiveAt?.toISOString() ?? null),
      lines.map((l) => l.n),
      lines.map((l) => l.account),
      lines.map((l) => l.currency),
      lines.map((l) => l.amount),
    ]);
    const created = new Map(rows.map((r) => [entryKey(r.cause_type, r.cause_id, r.kind), r.id]));
    const skipped = inputs.filter((_, i) => !created.has(keys[i]));
    const existing = skipped.length ? await this.findEntryIds(manager, skipped) : new Map<string, string>();
    return inputs.map((input, i) => {
      const createdId = created.get(keys[i]);
      if (createdId) {
        this.logger.debug(`posted ${input.kind} ${createdId} for ${input.causeType} ${input.causeId}`);
        return { entryId: createdId, created: true };
      }
      const existingId = existing.get(keys[i]) as string;
      this.logger.debug(`${input.kind} for ${input.causeType} ${input.causeId} already posted as ${existingId}`);
      return { entryId: existingId, created: false };
    });
  }

  /**
   * Locks every account of these affiliates (in `currency`, or all), in one statement and in id
   * order: step 2 of the lock order, for a transaction that reads balances before it posts.
   * Answers the available balance per affiliate and currency, presented positive.
   */
  async lockAffiliateAccounts(manager: EntityManager, affiliateIds: string[], currency?: string): Promise<Map<string, number>> {
    const available = new Map<string, number>();
    if (!affiliateIds.length) return available;
    const rows: { type: AccountType; owner_id: string; currency: string; balance: string }[] = await manager.query(LOCK_AFFILIATE_ACCOUNTS, [
      [...new Set(affiliateIds)],
      currency ?? null,
    ]);
    for (const r of rows) if (r.type === 'affiliate_available') available.set(availableKey(r.owner_id, r.currency), 0 - toMinor(r.balance));
    return available;
  }

  /** Runs a posting statement; the database's refusal of a negative available balance becomes a clear error. */
  private async write<T>(manager: EntityManager, sql: string, params: unknown[]): Promise<T> {
    try {
      return await manager.query(sql, params);
    } catch (error) {
      if (error instanceof QueryFailedError && (error as unknown as { constraint?: string }).constraint === AVAILABLE_GUARD) throw LedgerError.insufficientAvailable();
      throw error;
    }
  }

  async hasEntry(manager: EntityManager, causeType: CauseType, causeId: string, kind: string): Promise<boolean> {
    return (await this.findEntryId(manager, causeType, causeId, kind)) !== null;
  }

  /**
   * An affiliate's balances per currency in minor units, presented positive: pending and
   * available are what the network owes (credit balances), clawback what the affiliate owes
   * back (a debit balance), paid the cash sent by payouts net of failed ones. Currencies whose
   * figures are all zero are left out. With `lock` (inside the caller's transaction), the
   * accounts stay locked until it ends: a payout computed from them cannot race a reversal.
   */
  async balances(manager: EntityManager | null, ownerId: string, currency?: string, options: { lock?: boolean } = {}): Promise<AffiliateBalanceView[]> {
    const sql = options.lock ? `${AFFILIATE_BALANCES} FOR NO KEY UPDATE OF a` : AFFILIATE_BALANCES;
    const rows: { currency: string; type: AccountType; balance: string; paid: string }[] = await (manager ?? this.dataSource.manager).query(sql, [
      ownerId,
      AFFILIATE_ACCOUNT_TYPES,
      currency ?? null,
    ]);
    const byCurrency = new Map<string, AffiliateBalanceView>();
    for (const row of rows) {
      const b = byCurrency.get(row.currency) ?? { currency: row.currency, pending: 0, available: 0, paid: 0, clawback: 0 };
      const balance = toMinor(row.balance);
      if (row.type === 'affiliate_pending') b.pending = 0 - balance;
      if (row.type === 'affiliate_available') b.available = 0 - balance;
      if (row.type === 'affiliate_clawback') b.clawback = balance;
      b.paid = addMinor(b.paid, toMinor(row.paid));
      byCurrency.set(row.currency, b);
    }
    return [...byCurrency.values()]
      .filter((b) => b.pending || b.available || b.paid || b.clawback)
      .sort((a, b) => ascending(a.currency, b.currency));
  }

  /** The cached balance of one account, signed (debit positive); 0 for an account never used. */
  async accountBalance(manager: EntityManager | null, ref: AccountRef): Promise<number> {
    const [row] = await (manager ?? this.dataSource.manager).query(
      `SELECT balance::text AS balance FROM ledger_accounts WHERE type = $1 AND ${ownerKey('owner_id')} = ${ownerKey('$2::uuid')} AND currency = $3`,
      [ref.type, ref.ownerId ?? null, ref.currency],
    );
    return row ? toMinor(row.balance) : 0;
  }

  /** Entries newest first, each with its lines; line filters match entries having such a line. */
  async entries(query: ListEntriesQueryDto): Promise<Page<JournalEntryView>> {
    const qb = this.dataSource.getRepository(JournalEntry).createQueryBuilder('e');
    if (query.causeType) qb.andWhere('e.cause_type = :causeType', { causeType: query.causeType });
    if (query.causeId) qb.andWhere('e.cause_id = :causeId', { causeId: query.causeId });
    if (query.kind) qb.andWhere('e.kind = :kind', { kind: query.kind });
    if (query.from) qb.andWhere('e.effective_at >= :from', { from: query.from });
    if (query.to) qb.andWhere('e.effective_at < :to', { to: query.to });
    const lineFilters = [
      query.accountId && 'l.account_id = :accountId',
      query.currency && 'l.currency = :currency',
      query.ownerId && 'a.owner_id = :ownerId',
      query.accountType && 'a.type = :accountType',
    ].filter(Boolean);
    if (lineFilters.length) {
      qb.andWhere(`e.id IN (SELECT l.entry_id FROM journal_lines l JOIN ledger_accounts a ON a.id = l.account_id WHERE ${lineFilters.join(' AND ')})`, {
        accountId: query.accountId,
        currency: query.currency,
        ownerId: query.ownerId,
        accountType: query.accountType,
      });
    }
    const page = await paginate(qb, 'e', query);
    const lines = await this.linesOf(page.data.map((e) => e.id));
    return {
      nextCursor: page.nextCursor,
      data: page.data.map((e) => ({
        id: e.id,
        kind: e.kind,
        causeType: e.causeType,
        causeId: e.causeId,
        memo: e.memo,
        createdBy: e.createdBy,
        effectiveAt: e.effectiveAt.toISOString(),
        createdAt: e.createdAt.toISOString(),
        lines: lines.get(e.id) ?? [],
      })),
    };
  }

  async accounts(query: ListAccountsQueryDto): Promise<Page<LedgerAccount>> {
    const qb = this.dataSource.getRepository(LedgerAccount).createQueryBuilder('a');
    if (query.ownerId) qb.andWhere('a.owner_id = :ownerId', { ownerId: query.ownerId });
    if (query.type) qb.andWhere('a.type = :type', { type: query.type });
    if (query.currency) qb.andWhere('a.currency = :currency', { currency: query.currency });
    return paginate(qb, 'a', query);
  }

  /**
   * Earnings as `actor` may see them: an affiliate its own only (another affiliate's id is a
   * 404, the same answer as an id that names nobody), staff any affiliate they name.
   */
  async earnings(actor: AuthPrincipal, requestedId: string | undefined, currency?: string): Promise<EarningsView> {
    const requested = requestedId?.toLowerCase();
    let affiliateId: string;
    if (isStaff(actor)) {
      if (!requested) throw invalidField('affiliateId', 'is required for admin and finance');
      const exists = await this.dataSource.getRepository(Principal).existsBy({ id: requested, role: 'affiliate' });
      if (!exists) throw LedgerError.affiliateNotFound();
      affiliateId = requested;
    } else {
      if (requested && requested !== actor.id) throw LedgerError.affiliateNotFound();
      affiliateId = actor.id;
    }
    return { affiliateId, balances: await this.balances(null, affiliateId, currency) };
  }

  private async findEntryId(manager: EntityManager, causeType: string, causeId: string, kind: string): Promise<string | null> {
    const [row] = await manager.query(`SELECT id FROM journal_entries WHERE cause_type = $1 AND cause_id = $2 AND kind = $3`, [causeType, causeId, kind]);
    return row?.id ?? null;
  }

  private async findEntryIds(manager: EntityManager, inputs: Pick<PostingInput, 'causeType' | 'causeId' | 'kind'>[]): Promise<Map<string, string>> {
    const rows: { id: string; cause_type: string; cause_id: string; kind: string }[] = await manager.query(FIND_ENTRIES, [
      inputs.map((i) => i.causeType),
      inputs.map((i) => i.causeId),
      inputs.map((i) => i.kind),
    ]);
    return new Map(rows.map((r) => [entryKey(r.cause_type, r.cause_id, r.kind), r.id]));
  }

  /** Account ids by identity, creating the accounts used for the first time. */
  private async accountIds(manager: EntityManager, lines: CheckedLine[]): Promise<Map<string, string>> {
    // Created in one order everywhere, so two postings creating the same accounts cannot deadlock.
    const wanted = [...new Map(lines.map((l) => [identityKey(l.type, l.ownerId, l.currency), l]))].sort(([a], [b]) => ascending(a, b)).map(([, l]) => l);
    const params = [wanted.map((l) => l.type), wanted.map((l) => l.ownerId), wanted.map((l) => l.currency)];
    const find = async () => {
      const rows: { id: string; type: string; owner_id: string | null; currency: string }[] = await manager.query(FIND_ACCOUNTS, params);
      return new Map(rows.map((r) => [identityKey(r.type, r.owner_id, r.currency), r.id]));
    };
    const found = await find();
    if (found.size === wanted.length) return found;
    try {
      await manager.query(CREATE_ACCOUNTS, params);
    } catch (error) {
      if (error instanceof QueryFailedError && (error as unknown as { code?: string }).code === '23503') {
        throw LedgerError.posting(LedgerErrorCode.UnknownOwner, 'an account owner names no principal');
      }
      throw error;
    }
    return find();
  }

  private async linesOf(entryIds: string[]): Promise<Map<string, JournalLineView[]>> {
    const byEntry = new Map<string, JournalLineView[]>();
    if (!entryIds.length) return byEntry;
    const rows: { entry_id: string; account_id: string; type: AccountType; owner_id: string | null; currency: string; amount: string }[] = await this.dataSource.query(
      `SELECT l.entry_id, l.account_id, a.type, a.owner_id, l.currency, l.amount::text AS amount
       FROM journal_lines l JOIN ledger_accounts a ON a.id = l.account_id
       WHERE l.entry_id = ANY($1::uuid[]) ORDER BY l.id`,
      [entryIds],
    );
    for (const r of rows) {
      const list = byEntry.get(r.entry_id) ?? [];
      list.push({ accountId: r.account_id, accountType: r.type, ownerId: r.owner_id, currency: r.currency, amount: toMinor(r.amount) });
      byEntry.set(r.entry_id, list);
    }
    return byEntry;
  }
}
