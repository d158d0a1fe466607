import { addMinor, isCurrency, MAX_MINOR_UNITS } from '../../common/money';
import { UUID_PATTERN } from '../../common/validation/validators';
import { CAUSE_TYPES, CauseType } from './journal-entry.entity';
import { ACCOUNT_TYPES, LedgerAccountType, isOwnedLedgerAccountType } from './ledger-account.entity';
import { LedgerError, LedgerErrorCode, PostingErrorCode } from './ledger.errors';

/**
 * Sign convention: a line's amount is positive for a debit and negative for a credit, and an
 * entry's lines sum to zero per currency. Assets (advertiser_receivable, stripe_clearing,
 * affiliate_clawback) are debit-normal; liabilities (affiliate_pending, affiliate_available) and
 * the network's margin are credit-normal, so their balances are negative in the ordinary course.
 */
export interface LedgerAccountRef {
  type: LedgerAccountType;
  /** The affiliate or advertiser; null (or absent) for network_margin and stripe_clearing. */
  ownerId?: string | null;
  currency: string;
}

export interface PostingLine {
  account: LedgerAccountRef;
  /** Minor units; debit positive, credit negative, never zero. */
  amount: number;
}

export interface PostingInput {
  kind: string;
  causeType: CauseType;
  causeId: string;
  memo?: string | null;
  createdBy?: string | null;
  effectiveAt?: Date;
  lines: PostingLine[];
}

/** The kinds the posting patterns below are written for; adjustments may use kinds of their own. */
export const LEDGER_KINDS = {
  commission: 'commission',
  approval: 'approval',
  reversal: 'reversal',
  payout: 'payout',
  payoutReversal: 'payout_reversal',
  invoicePaid: 'invoice_paid',
  adjustment: 'adjustment',
  bonus: 'bonus',
  bonusClawback: 'bonus_clawback',
  funding: 'funding',
  fundingReserve: 'funding_reserve',
  fundingSpend: 'funding_spend',
  fundingRelease: 'funding_release',
  fundingRefund: 'funding_refund',
} as const;

export interface CommissionAmounts {
  affiliateId: string;
  advertiserId: string;
  currency: string;
  /** R: what the advertiser owes for the result, in minor units. */
  revenue: number;
  /** P: what the affiliate earns, in minor units. */
  payout: number;
}

export type ReversibleStatus = 'pending' | 'approved' | 'paid';

/** Where a conversion's payout sits while it is in each status. */
const AFFILIATE_ACCOUNT_BY_STATUS: Record<ReversibleStatus, LedgerAccountType> = {
  pending: 'affiliate_pending',
  approved: 'affiliate_available',
  // After a payout the money has left; reversing it leaves a claim on the affiliate instead.
  paid: 'affiliate_clawback',
};

function amountOf(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 0 || value > MAX_MINOR_UNITS) {
    throw LedgerError.posting(LedgerErrorCode.InvalidAmount, `${name} must be a non-negative integer of minor units, got ${String(value)}`);
  }
  return value;
}

function line(type: LedgerAccountType, ownerId: string | null, currency: string, amount: number): PostingLine {
  return { account: { type, ownerId, currency }, amount };
}

/** Zero lines carry nothing and the database refuses them. */
function nonZero(lines: PostingLine[]): PostingLine[] {
  return lines.filter((l) => l.amount !== 0);
}

export function negateLines(lines: PostingLine[]): PostingLine[] {
  return lines.map((l) => ({ account: l.account, amount: 0 - l.amount }));
}

/** Dr advertiser_receivable R; Cr <affiliate account> P; Cr network_margin R − P (a debit when negative). */
function earningLines(c: CommissionAmounts, affiliateAccount: LedgerAccountType): PostingLine[] {
  const revenue = amountOf('revenue', c.revenue);
  const payout = amountOf('payout', c.payout);
  return nonZero([
    line('advertiser_receivable', c.advertiserId, c.currency, revenue),
    line(affiliateAccount, c.affiliateId, c.currency, -payout),
    line('network_margin', null, c.currency, payout - revenue),
  ]);
}

/** Kind `commission`: the result is owed by the advertiser and earned, not yet payable, by the affiliate. */
export function commissionLines(c: CommissionAmounts): PostingLine[] {
  return earningLines(c, 'affiliate_pending');
}

/** Kind `approval`: the lock period is over; the payout becomes payable. */
export function approvalLines(c: Pick<CommissionAmounts, 'affiliateId' | 'currency' | 'payout'>): PostingLine[] {
  const payout = amountOf('payout', c.payout);
  return nonZero([line('affiliate_pending', c.affiliateId, c.currency, payout), line('affiliate_available', c.affiliateId, c.currency, -payout)]);
}

/**
 * Kind `reversal`: undoes the commission from wherever the payout sits now. From `paid`, the
 * affiliate's debt lands on affiliate_clawback, which the next payout nets off.
 */
export function reversalLines(c: CommissionAmounts, fromStatus: ReversibleStatus, availableCover = Infinity): PostingLine[] {
  const account = AFFILIATE_ACCOUNT_BY_STATUS[fromStatus];
  if (!account) throw LedgerError.posting(LedgerErrorCode.InvalidEntry, `cannot reverse a conversion that is ${String(fromStatus)}`);
  const lines = negateLines(earningLines(c, account));
  if (fromStatus !== 'approved' || availableCover >= c.payout) return lines;
  // Available no longer holds the whole payout (paid out, or taken by an adjustment): what it
  // cannot cover becomes a claim on the affiliate, never a negative available balance.
  const covered = Math.max(0, availableCover);
  return [
    ...lines.filter((l) => l.account.type !== 'affiliate_available'),
    ...nonZero([line('affiliate_available', c.affiliateId, c.currency, covered), line('affiliate_clawback', c.affiliateId, c.currency, c.payout - covered)]),
  ];
}

/**
 * Kind `adjustment`: finance moves an affiliate's available balance by hand, against the
 * network's adjustments account. A credit (amount > 0) raises available; a debit lowers it as
 * far as `available` allows and puts the rest on affiliate_clawback, which the next payout nets off.
 */
export function adjustmentLines(affiliate: PayoutParty, amount: number, available: number): PostingLine[] {
  if (!Number.isSafeInteger(amount) || amount === 0 || Math.abs(amount) > MAX_MINOR_UNITS) {
    throw LedgerError.posting(LedgerErrorCode.InvalidAmount, `amount must be a non-zero integer of minor units, got ${String(amount)}`);
  }
  const { affiliateId, currency } = affiliate;
  if (amount > 0) return [line('affiliate_available', affiliateId, currency, -amount), line('network_adjustments', null, currency, amount)];
  const debit = -amount;
  const fromAvailable = Math.min(debit, Math.max(0, available));
  return nonZero([
    line('affiliate_available', affiliateId, currency, fromAvailable),
    line('affiliate_clawback', affiliateId, currency, debit - fromAvailable),
    line('network_adjustments', null, currency, -debit),
  ]);
}

export interface PayoutParty {
  affiliateId: string;
  currency: string;
  /** The payout rail's clearing account (`PayoutRail.clearingLedgerAccount`); stripe_clearing by default. */
  clearing?: LedgerAccountType;
}

/**
 * Kind `payout`: Dr affiliate_available (A + C); Cr affiliate_clawback C; Cr <rail>_clearing A.
 * A is what the rail transfers; C is clawback settled out of the available balance instead of cash.
 */
export function payoutLines(affiliate: PayoutParty, amount: number, clawbackNetted = 0): PostingLine[] {
  const cash = amountOf('amount', amount);
  const netted = amountOf('clawbackNetted', clawbackNetted);
  return nonZero([
    line('affiliate_available', affiliate.affiliateId, affiliate.currency, addMinor(cash, netted)),
    line('affiliate_clawback', affiliate.affiliateId, affiliate.currency, -netted),
    line(affiliate.clearing ?? 'stripe_clearing', null, affiliate.currency, -cash),
  ]);
}

/** Kind `payout_reversal`: a failed or reversed transfer gives everything back, clawback included. */
export function payoutFailedLines(affiliate: PayoutParty, amount: number, clawbackNetted = 0): PostingLine[] {
  return negateLines(payoutLines(affiliate, amount, clawbackNetted));
}

/** Kind `invoice_paid`: the advertiser's money arrives and settles its receivable. */
export function invoicePaidLines(advertiser: { advertiserId: string; currency: string }, amount: number): PostingLine[] {
  const paid = amountOf('amount', amount);
  return nonZero([line('stripe_clearing', null, advertiser.currency, paid), line('advertiser_receivable', advertiser.advertiserId, advertiser.currency, -paid)]);
}

export interface BonusParty {
  affiliateId: string;
  advertiserId: string;
  currency: string;
}

/** Kind `bonus`: the advertiser owes the bonus and the affiliate may be paid it at once (it is earned on approved results). */
export function bonusLines(party: BonusParty, amount: number): PostingLine[] {
  const bonus = amountOf('amount', amount);
  return nonZero([line('advertiser_receivable', party.advertiserId, party.currency, bonus), line('affiliate_available', party.affiliateId, party.currency, -bonus)]);
}

/**
 * Kind `bonus_clawback`: undoes a bonus whose threshold reversals took back. What the available
 * balance no longer holds (paid out) becomes a claim on the affiliate, as a reversal's does.
 */
export function bonusClawbackLines(party: BonusParty, amount: number, available: number): PostingLine[] {
  const bonus = amountOf('amount', amount);
  const fromAvailable = Math.min(bonus, Math.max(0, available));
  return nonZero([
    line('affiliate_available', party.affiliateId, party.currency, fromAvailable),
    line('affiliate_clawback', party.affiliateId, party.currency, bonus - fromAvailable),
    line('advertiser_receivable', party.advertiserId, party.currency, -bonus),
  ]);
}

export interface FundingParty {
  advertiserId: string;
  currency: string;
}

/** Kind `funding`: a prepaid advertiser's top-up arrives: Dr funding_clearing; Cr advertiser_funds. */
export function fundingLines(party: FundingParty, amount: number): PostingLine[] {
  const funded = amountOf('amount', amount);
  return nonZero([line('funding_clearing', null, party.currency, funded), line('advertiser_funds', party.advertiserId, party.currency, -funded)]);
}

/** What each step of a prepaid conversion moves: from → to, by its revenue. */
const FUNDING_MOVES = {
  // Recorded: its revenue is set aside out of the funds.
  funding_reserve: ['advertiser_funds', 'advertiser_reserved'],
  // Approved: the reserve pays the receivable its commission entry raised.
  funding_spend: ['advertiser_reserved', 'advertiser_receivable'],
  // Rejected or reversed before approval: the reserve goes back to the funds.
  funding_release: ['advertiser_reserved', 'advertiser_funds'],
  // Reversed after approval: the reversal credited the receivable; the money goes back to the funds.
  funding_refund: ['advertiser_receivable', 'advertiser_funds'],
} as const satisfies Record<string, readonly [LedgerAccountType, LedgerAccountType]>;
export type FundingMove = keyof typeof FUNDING_MOVES;

/** Kinds `funding_reserve`, `funding_spend`, `funding_release`, `funding_refund` of a prepaid conversion: Dr `from`, Cr `to`. */
export function fundingMoveLines(move: FundingMove, party: FundingParty, revenue: number): PostingLine[] {
  const amount = amountOf('revenue', revenue);
  const [from, to] = FUNDING_MOVES[move];
  return nonZero([line(from, party.advertiserId, party.currency, amount), line(to, party.advertiserId, party.currency, -amount)]);
}

export interface CheckedLine {
  type: LedgerAccountType;
  ownerId: string | null;
  currency: string;
  amount: number;
}

const KIND_PATTERN = /^[a-z][a-z0-9_]{0,63}$/;
const BACKDATING_SLACK_MS = 60_000;

function refuse(code: PostingErrorCode, message: string): never {
  throw LedgerError.posting(code, message);
}

function checkLine({ account, amount }: PostingLine, i: number): CheckedLine {
  const type = account?.type;
  if (!(ACCOUNT_TYPES as readonly string[]).includes(type)) refuse(LedgerErrorCode.InvalidAccount, `line ${i}: unknown account type ${JSON.stringify(type)}`);
  const owner = account.ownerId ?? null;
  if (isOwnedLedgerAccountType(type)) {
    if (typeof owner !== 'string' || !UUID_PATTERN.test(owner)) refuse(LedgerErrorCode.InvalidAccount, `line ${i}: a ${type} account needs an owner id`);
  } else if (owner !== null) {
    refuse(LedgerErrorCode.InvalidAccount, `line ${i}: a ${type} account has no owner`);
  }
  if (!isCurrency(account.currency)) refuse(LedgerErrorCode.InvalidCurrency, `line ${i}: unknown currency ${JSON.stringify(account.currency)}`);
  if (!Number.isSafeInteger(amount) || amount === 0) refuse(LedgerErrorCode.InvalidAmount, `line ${i}: amount must be a non-zero integer of minor units, got ${String(amount)}`);
  return { type, ownerId: owner?.toLowerCase() ?? null, currency: account.currency, amount };
}

/** Everything the database would refuse, refused first with a message that says which line. */
export function checkPosting(input: PostingInput): CheckedLine[] {
  if (typeof input.kind !== 'string' || !KIND_PATTERN.test(input.kind)) refuse(LedgerErrorCode.InvalidEntry, `kind must be snake_case, got ${JSON.stringify(input.kind)}`);
  if (!(CAUSE_TYPES as readonly string[]).includes(input.causeType)) refuse(LedgerErrorCode.InvalidEntry, `unknown cause type ${JSON.stringify(input.causeType)}`);
  if (typeof input.causeId !== 'string' || input.causeId.length < 1 || input.causeId.length > 200) refuse(LedgerErrorCode.InvalidEntry, 'causeId must be 1 to 200 characters');
  if (input.memo && input.memo.length > 2000) refuse(LedgerErrorCode.InvalidEntry, 'memo must be at most 2000 characters');
  if (input.createdBy && !UUID_PATTERN.test(input.createdBy)) refuse(LedgerErrorCode.InvalidEntry, 'createdBy must be a principal id');
  if (input.effectiveAt !== undefined && !(input.effectiveAt instanceof Date && !Number.isNaN(input.effectiveAt.getTime()))) {
    refuse(LedgerErrorCode.InvalidEntry, 'effectiveAt must be a valid date');
  }
  // A statement of a period that has ended never changes: nothing is posted into the past; a
  // correction is a new entry dated now. A minute of slack for the clocks of several processes.
  if (input.effectiveAt !== undefined && input.effectiveAt.getTime() < Date.now() - BACKDATING_SLACK_MS) {
    refuse(LedgerErrorCode.InvalidEntry, 'effectiveAt must not be in the past: post a correction dated now');
  }
  if (!Array.isArray(input.lines) || input.lines.length < 2) refuse(LedgerErrorCode.TooFewLines, 'an entry needs at least two lines');
  const lines = input.lines.map(checkLine);
  const totals = new Map<string, bigint>();
  for (const l of lines) totals.set(l.currency, (totals.get(l.currency) ?? 0n) + BigInt(l.amount));
  const off = [...totals].filter(([, total]) => total !== 0n);
  if (off.length) refuse(LedgerErrorCode.UnbalancedEntry, `lines must sum to zero per currency: ${off.map(([c, t]) => `${c} ${t}`).join(', ')}`);
  return lines;
}
