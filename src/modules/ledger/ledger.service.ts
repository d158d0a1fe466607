import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager, QueryFailedError } from 'typeorm';
import { AuthPrincipal, isStaff } from '../../common/auth';
import { invalidField } from '../../common/errors';
import { addMinor } from '../../common/money';
import { Page, paginate } from '../../common/pagination';
import { principalsRepository } from '../principals/principals.repository';
import { AffiliateBalanceView, EarningsView, JournalEntryView, JournalLineView, ListLedgerAccountsQueryDto, ListEntriesQueryDto } from './dto/ledger.dto';
import { CauseType } from './journal-entry.entity';
import { AFFILIATE_ACCOUNT_TYPES, LedgerAccount } from './ledger-account.entity';
import { LedgerError, LedgerErrorCode } from './ledger.errors';
import { LedgerAccountRef, CheckedLine, checkPosting, LEDGER_KINDS, PostingInput } from './ledger.postings';
import { ledgerRepository } from './ledger.repository';

/*
 * LOCK ORDER, the one every transaction that moves money follows (so none waits on another in a cycle):
 *   1. conversions, in id order (FOR UPDATE: their status changes);
 *   2. affiliate accounts (affiliate_pending, affiliate_available, affiliate_clawback), in id order;
 *   3. every other account (advertiser_receivable, network_margin, stripe_clearing,
 *      network_adjustments, and a prepaid advertiser's advertiser_funds, advertiser_reserved,
 *      funding_clearing), in id order. Recording a prepaid advertiser's conversion locks its
 *      advertiser_funds first (lockFunds) and inserts the conversion after: a new row, which no
 *      other transaction can hold.
 * A bonus award takes a transaction-scoped advisory lock per (bonus, affiliate, period) before
 * any account, and locks no conversion.
 * A transaction that locks in two statements (a payout planning, a reversal that reads the
 * available balance first) takes a whole step in one statement and never goes back a step.
 * Accounts are locked FOR NO KEY UPDATE, never FOR UPDATE: the journal lines' foreign key takes
 * FOR KEY SHARE on each account a line names, including accounts whose net change is zero and
 * so are not locked by the posting; KEY SHARE conflicts with FOR UPDATE but not with NO KEY UPDATE.
 */

export interface FundingBalance {
  currency: string;
  funded: number;
  reserved: number;
  spent: number;
  available: number;
}

export interface PostResult {
  entryId: string;
  /** False when an entry for the same (causeType, causeId, kind) already existed: nothing was posted. */
  created: boolean;
}

const identityKey = (type: string, ownerId: string | null, currency: string) => `${type}|${ownerId ?? ''}|${currency}`;
const ascending = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** The CHECK that keeps affiliate_available at or below zero (debit positive). */
const AVAILABLE_GUARD = 'ledger_accounts_available_not_negative';

/** The key of `lockAffiliateAccounts`' answer. */
export const availableKey = (affiliateId: string, currency: string) => `${affiliateId.toLowerCase()}|${currency}`;

const entryKey = (causeType: string, causeId: string, kind: string) => `${causeType}|${causeId}|${kind}`;

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
    const rows = await this.write(
      ledgerRepository.postEntries(manager, [
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
      ]),
    );
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
    const rows = await ledgerRepository.lockAffiliateAccounts(manager, [...new Set(affiliateIds)], currency ?? null);
    for (const r of rows) if (r.type === 'affiliate_available') available.set(availableKey(r.owner_id, r.currency), 0 - toMinor(r.balance));
    return available;
  }

  /**
   * `lockAffiliateAccounts` answering, per affiliate, its available balance and the clawback it
   * owes in `currency` (presented positive, as `balances` does), read under the locks.
   */
  async lockPayoutBalances(manager: EntityManager, affiliateIds: string[], currency: string): Promise<Map<string, { available: number; clawback: number }>> {
    const balances = new Map<string, { available: number; clawback: number }>();
    if (!affiliateIds.length) return balances;
    for (const r of await ledgerRepository.lockAffiliateAccounts(manager, [...new Set(affiliateIds)], currency)) {
      const b = balances.get(r.owner_id) ?? { available: 0, clawback: 0 };
      if (r.type === 'affiliate_available') b.available = 0 - toMinor(r.balance);
      if (r.type === 'affiliate_clawback') b.clawback = toMinor(r.balance);
      balances.set(r.owner_id, b);
    }
    return balances;
  }

  /** Awaits a posting statement; the database's refusal of a negative available balance becomes a clear error. */
  private async write<T>(statement: Promise<T>): Promise<T> {
    try {
      return await statement;
    } catch (error) {
      if (error instanceof QueryFailedError && (error as unknown as { constraint?: string }).constraint === AVAILABLE_GUARD) throw LedgerError.insufficientAvailable();
      throw error;
    }
  }

  /**
   * Locks a prepaid advertiser's funds in `currency` (step 3 of the lock order: after any
   * conversion and affiliate account) until the caller's transaction ends, and answers what is
   * available, presented positive (0 for an advertiser never funded).
   */
  async lockFunds(manager: EntityManager, advertiserId: string, currency: string): Promise<number> {
    const balance = await ledgerRepository.lockFunds(manager, advertiserId, currency);
    return balance === null ? 0 : 0 - toMinor(balance);
  }

  /** A prepaid advertiser's funds per currency: funded (top-ups), reserved, spent, available. */
  async funding(advertiserId: string): Promise<FundingBalance[]> {
    const byCurrency = new Map<string, FundingBalance>();
    for (const row of await ledgerRepository.fundingMoves(this.dataSource.manager, advertiserId)) {
      const b = byCurrency.get(row.currency) ?? { currency: row.currency, funded: 0, reserved: 0, spent: 0, available: 0 };
      const amount = toMinor(row.amount);
      if (row.type === 'advertiser_funds') {
        b.available -= amount;
        if (row.kind === LEDGER_KINDS.funding) b.funded -= amount;
      } else {
        b.reserved -= amount;
        // Spent: what left the reserve to pay results, less what reversals after approval gave back.
        if (row.kind === LEDGER_KINDS.fundingSpend) b.spent += amount;
      }
      if (row.type === 'advertiser_funds' && row.kind === LEDGER_KINDS.fundingRefund) b.spent += amount;
      byCurrency.set(row.currency, b);
    }
    return [...byCurrency.values()];
  }

  async hasEntry(manager: EntityManager, causeType: CauseType, causeId: string, kind: string): Promise<boolean> {
    return (await ledgerRepository.findEntryId(manager, causeType, causeId, kind)) !== null;
  }

  /**
   * An affiliate's balances per currency in minor units, presented positive: pending and
   * available are what the network owes (credit balances), clawback what the affiliate owes
   * back (a debit balance), paid the cash sent by payouts net of failed ones. Currencies whose
   * figures are all zero are left out. With `lock` (inside the caller's transaction), the
   * accounts stay locked until it ends: a payout computed from them cannot race a reversal.
   */
  async balances(manager: EntityManager | null, ownerId: string, currency?: string, options: { lock?: boolean } = {}): Promise<AffiliateBalanceView[]> {
    const rows = await ledgerRepository.affiliateBalances(manager ?? this.dataSource.manager, ownerId, AFFILIATE_ACCOUNT_TYPES, currency ?? null, !!options.lock);
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
    return [...byCurrency.values()].filter((b) => b.pending || b.available || b.paid || b.clawback).sort((a, b) => ascending(a.currency, b.currency));
  }

  /** The cached balance of one account, signed (debit positive); 0 for an account never used. */
  async accountBalance(manager: EntityManager | null, ref: LedgerAccountRef): Promise<number> {
    const balance = await ledgerRepository.accountBalance(manager ?? this.dataSource.manager, ref);
    return balance === null ? 0 : toMinor(balance);
  }

  /** Entries newest first, each with its lines; line filters match entries having such a line. */
  async entries(query: ListEntriesQueryDto): Promise<Page<JournalEntryView>> {
    const qb = ledgerRepository.entriesQuery(this.dataSource.manager, query);
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

  async accounts(query: ListLedgerAccountsQueryDto): Promise<Page<LedgerAccount>> {
    return paginate(ledgerRepository.accountsQuery(this.dataSource.manager, query), 'a', query);
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
      if (!(await principalsRepository.exists(this.dataSource.manager, requested, 'affiliate'))) throw LedgerError.affiliateNotFound();
      affiliateId = requested;
    } else {
      if (requested && requested !== actor.id) throw LedgerError.affiliateNotFound();
      affiliateId = actor.id;
    }
    const bonuses = new Map<string, { currency: string; earned: number; clawedBack: number }>();
    for (const row of await ledgerRepository.bonusTotals(this.dataSource.manager, affiliateId, currency ?? null)) {
      const b = bonuses.get(row.currency) ?? { currency: row.currency, earned: 0, clawedBack: 0 };
      if (row.kind === LEDGER_KINDS.bonus) b.earned = toMinor(row.amount);
      if (row.kind === LEDGER_KINDS.bonusClawback) b.clawedBack = 0 - toMinor(row.amount);
      bonuses.set(row.currency, b);
    }
    return { affiliateId, balances: await this.balances(null, affiliateId, currency), bonuses: [...bonuses.values()] };
  }

  private async findEntryIds(manager: EntityManager, inputs: Pick<PostingInput, 'causeType' | 'causeId' | 'kind'>[]): Promise<Map<string, string>> {
    const rows = await ledgerRepository.findEntries(manager, [inputs.map((i) => i.causeType), inputs.map((i) => i.causeId), inputs.map((i) => i.kind)]);
    return new Map(rows.map((r) => [entryKey(r.cause_type, r.cause_id, r.kind), r.id]));
  }

  /** Account ids by identity, creating the accounts used for the first time. */
  private async accountIds(manager: EntityManager, lines: CheckedLine[]): Promise<Map<string, string>> {
    // Created in one order everywhere, so two postings creating the same accounts cannot deadlock.
    const wanted = [...new Map(lines.map((l) => [identityKey(l.type, l.ownerId, l.currency), l]))].sort(([a], [b]) => ascending(a, b)).map(([, l]) => l);
    const params = [wanted.map((l) => l.type), wanted.map((l) => l.ownerId), wanted.map((l) => l.currency)];
    const find = async () => {
      const rows = await ledgerRepository.findAccounts(manager, params);
      return new Map(rows.map((r) => [identityKey(r.type, r.owner_id, r.currency), r.id]));
    };
    const found = await find();
    if (found.size === wanted.length) return found;
    try {
      await ledgerRepository.createAccounts(manager, params);
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
    const rows = await ledgerRepository.linesOf(this.dataSource.manager, entryIds);
    for (const r of rows) {
      const list = byEntry.get(r.entry_id) ?? [];
      list.push({ accountId: r.account_id, accountType: r.type, ownerId: r.owner_id, currency: r.currency, amount: toMinor(r.amount) });
      byEntry.set(r.entry_id, list);
    }
    return byEntry;
  }
}
