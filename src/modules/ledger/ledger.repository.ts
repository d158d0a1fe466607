import { EntityManager, SelectQueryBuilder } from 'typeorm';
import { ListLedgerAccountsQueryDto, ListEntriesQueryDto } from './dto/ledger.dto';
import { JournalEntry } from './journal-entry.entity';
import { LedgerAccountType, LedgerAccount } from './ledger-account.entity';
import { LedgerAccountRef, LEDGER_KINDS } from './ledger.postings';

/** The network's own accounts have no owner; the unique index keys them under the nil uuid. */
const ownerKey = (column: string) => `COALESCE(${column}, '00000000-0000-0000-0000-000000000000'::uuid)`;

/** Affiliate accounts sort before the others (the lock order, top of ledger.service.ts). */
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
 * Accounts are locked in the lock order (top of ledger.service.ts); the MATERIALIZED CTE is what takes
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

/** An affiliate whose balance in a currency reaches its payout threshold (amounts as bigint strings). */
export interface PayoutCandidateRow {
  affiliateId: string;
  amount: string;
  clawbackNetted: string;
}

/** Of the affiliates in $2 (with their thresholds in $3), those whose available − clawback in $1 reaches the threshold. */
const PAYOUT_CANDIDATES = `
  SELECT w.affiliate_id AS "affiliateId",
         (-av.balance - coalesce(cb.balance, 0))::bigint AS amount, coalesce(cb.balance, 0)::bigint AS "clawbackNetted"
    FROM unnest($2::uuid[], $3::bigint[]) AS w(affiliate_id, threshold)
    JOIN ledger_accounts av ON av.owner_id = w.affiliate_id AND av.type = 'affiliate_available' AND av.currency = $1
    LEFT JOIN ledger_accounts cb ON cb.owner_id = w.affiliate_id AND cb.type = 'affiliate_clawback' AND cb.currency = $1
   WHERE (-av.balance - coalesce(cb.balance, 0)) >= greatest(w.threshold, 1)
   ORDER BY w.affiliate_id`;

/**
 * Every query on `ledger_accounts`, `journal_entries` and `journal_lines` (the ledger owns its
 * tables: see ARCHITECTURE.md); money moves only through LedgerService.post, which checks each
 * posting and calls `postEntries`. Read models (statements, checks) read the tables themselves.
 * Stateless, like ConversionsRepository: each method runs on the caller's manager and transaction.
 */
export class LedgerRepository {
  /** Step 2 of the lock order for a set of affiliates: all their accounts (in `currency`, or every one), in id order. */
  lockAffiliateAccounts(
    manager: EntityManager,
    affiliateIds: string[],
    currency: string | null,
  ): Promise<{ type: LedgerAccountType; owner_id: string; currency: string; balance: string }[]> {
    return manager.query(LOCK_AFFILIATE_ACCOUNTS, [affiliateIds, currency]);
  }

  /** The accounts of these identities (parallel arrays of type, owner, currency) that exist. */
  findAccounts(manager: EntityManager, identities: unknown[][]): Promise<{ id: string; type: string; owner_id: string | null; currency: string }[]> {
    return manager.query(FIND_ACCOUNTS, identities);
  }

  /** Creates the accounts of these identities that do not exist yet. */
  async createAccounts(manager: EntityManager, identities: unknown[][]): Promise<void> {
    await manager.query(CREATE_ACCOUNTS, identities);
  }

  /** Writes entries, lines and balances in one statement (parameters: see POST_ENTRIES); answers the entries it created. */
  postEntries(manager: EntityManager, params: unknown[][]): Promise<{ id: string; cause_type: string; cause_id: string; kind: string }[]> {
    return manager.query(POST_ENTRIES, params);
  }

  /** The entries of these (cause type, cause id, kind) keys, as parallel arrays. */
  findEntries(manager: EntityManager, keys: string[][]): Promise<{ id: string; cause_type: string; cause_id: string; kind: string }[]> {
    return manager.query(FIND_ENTRIES, keys);
  }

  async findEntryId(manager: EntityManager, causeType: string, causeId: string, kind: string): Promise<string | null> {
    const [row] = await manager.query(`SELECT id FROM journal_entries WHERE cause_type = $1 AND cause_id = $2 AND kind = $3`, [causeType, causeId, kind]);
    return row?.id ?? null;
  }

  /** An owner's accounts of `types` (in `currency`, or every one) with the cash its payouts sent; `lock` keeps them locked until the transaction ends. */
  affiliateBalances(
    manager: EntityManager,
    ownerId: string,
    types: readonly string[],
    currency: string | null,
    lock: boolean,
  ): Promise<{ currency: string; type: LedgerAccountType; balance: string; paid: string }[]> {
    return manager.query(lock ? `${AFFILIATE_BALANCES} FOR NO KEY UPDATE OF a` : AFFILIATE_BALANCES, [ownerId, types, currency]);
  }

  /** Locks a prepaid advertiser's funds account (step 3 of the lock order); its balance, or null when it has none yet. */
  async lockFunds(manager: EntityManager, advertiserId: string, currency: string): Promise<string | null> {
    const [row] = await manager.query(
      `SELECT balance::text AS balance FROM ledger_accounts WHERE type = 'advertiser_funds' AND owner_id = $1 AND currency = $2 FOR NO KEY UPDATE`,
      [advertiserId, currency],
    );
    return row ? row.balance : null;
  }

  /** A prepaid advertiser's funding per currency: the lines of its funds and reserve accounts by entry kind (debit positive). */
  fundingMoves(manager: EntityManager, advertiserId: string): Promise<{ currency: string; type: string; kind: string; amount: string }[]> {
    return manager.query(
      `SELECT l.currency, a.type, e.kind, sum(l.amount)::text AS amount
         FROM ledger_accounts a JOIN journal_lines l ON l.account_id = a.id JOIN journal_entries e ON e.id = l.entry_id
        WHERE a.owner_id = $1 AND a.type IN ('advertiser_funds', 'advertiser_reserved')
        GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
      [advertiserId],
    );
  }

  /** What bonus entries moved on an affiliate's accounts, per currency and kind (credit positive). */
  bonusTotals(manager: EntityManager, ownerId: string, currency: string | null): Promise<{ currency: string; kind: string; amount: string }[]> {
    return manager.query(
      `SELECT l.currency, e.kind, (-sum(l.amount))::text AS amount
         FROM journal_entries e JOIN journal_lines l ON l.entry_id = e.id JOIN ledger_accounts a ON a.id = l.account_id
        WHERE e.cause_type = 'bonus_award' AND a.owner_id = $1 AND a.type IN ('affiliate_pending', 'affiliate_available', 'affiliate_clawback')
          AND ($2::char(3) IS NULL OR l.currency = $2)
        GROUP BY 1, 2 ORDER BY 1, 2`,
      [ownerId, currency],
    );
  }

  async accountBalance(manager: EntityManager, ref: LedgerAccountRef): Promise<string | null> {
    const [row] = await manager.query(
      `SELECT balance::text AS balance FROM ledger_accounts WHERE type = $1 AND ${ownerKey('owner_id')} = ${ownerKey('$2::uuid')} AND currency = $3`,
      [ref.type, ref.ownerId ?? null, ref.currency],
    );
    return row ? row.balance : null;
  }

  /** Entries matching the query's filters; line filters match entries having such a line. */
  entriesQuery(manager: EntityManager, query: ListEntriesQueryDto): SelectQueryBuilder<JournalEntry> {
    const qb = manager.getRepository(JournalEntry).createQueryBuilder('e');
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
    return qb;
  }

  accountsQuery(manager: EntityManager, query: ListLedgerAccountsQueryDto): SelectQueryBuilder<LedgerAccount> {
    const qb = manager.getRepository(LedgerAccount).createQueryBuilder('a');
    if (query.ownerId) qb.andWhere('a.owner_id = :ownerId', { ownerId: query.ownerId });
    if (query.type) qb.andWhere('a.type = :type', { type: query.type });
    if (query.currency) qb.andWhere('a.currency = :currency', { currency: query.currency });
    return qb;
  }

  /** The lines of these entries, with their accounts, in line order. */
  linesOf(
    manager: EntityManager,
    entryIds: string[],
  ): Promise<{ entry_id: string; account_id: string; type: LedgerAccountType; owner_id: string | null; currency: string; amount: string }[]> {
    return manager.query(
      `SELECT l.entry_id, l.account_id, a.type, a.owner_id, l.currency, l.amount::text AS amount
       FROM journal_lines l JOIN ledger_accounts a ON a.id = l.account_id
       WHERE l.entry_id = ANY($1::uuid[]) ORDER BY l.id`,
      [entryIds],
    );
  }

  /** The kinds already posted for each cause of `causeType` among `causeIds`. */
  async postedKinds(manager: EntityManager, causeType: string, causeIds: string[]): Promise<Map<string, Set<string>>> {
    const rows: { cause_id: string; kind: string }[] = await manager.query(`SELECT cause_id, kind FROM journal_entries WHERE cause_type = $1 AND cause_id = ANY($2::text[])`, [
      causeType,
      causeIds,
    ]);
    const byCause = new Map<string, Set<string>>();
    for (const r of rows) byCause.set(r.cause_id, (byCause.get(r.cause_id) ?? new Set<string>()).add(r.kind));
    return byCause;
  }

  /**
   * Of `affiliates` (those the payouts module may pay, each with its payout threshold), the ones
   * whose balance in `currency` reaches their threshold, ordered by id.
   */
  payoutCandidates(manager: EntityManager, currency: string, affiliates: { affiliateId: string; threshold: number }[]): Promise<PayoutCandidateRow[]> {
    return manager.query(PAYOUT_CANDIDATES, [currency, affiliates.map((a) => a.affiliateId), affiliates.map((a) => a.threshold)]);
  }
}

export const ledgerRepository = new LedgerRepository();
