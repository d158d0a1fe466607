import { LedgerError, LedgerErrorCode } from '../ledger/ledger.errors';
import { negateLines, PostingLine } from '../ledger/ledger.postings';

/** Ledger kinds of billing beyond `invoice_paid` (see README, "Advertiser billing"). */
export const BILLING_KINDS = {
  /** An uncollectible invoice: what was left to pay leaves the receivable as a loss of the network. */
  writeOff: 'invoice_write_off',
  /** The write-off undone: the invoice is paid after all, or voided and its results billed again. */
  writeOffReversal: 'invoice_write_off_reversal',
  /** A reversed result credited on the invoice that billed it (per conversion). */
  credit: 'invoice_credit',
} as const;

export interface Advertiser {
  advertiserId: string;
  currency: string;
}

function positive(amount: number): number {
  if (!Number.isSafeInteger(amount) || amount <= 0)
    throw LedgerError.posting(LedgerErrorCode.InvalidAmount, `amount must be a positive integer of minor units, got ${String(amount)}`);
  return amount;
}

const receivable = (a: Advertiser, amount: number): PostingLine => ({ account: { type: 'advertiser_receivable', ownerId: a.advertiserId, currency: a.currency }, amount });
const network = (type: 'network_margin' | 'stripe_clearing', currency: string, amount: number): PostingLine => ({ account: { type, ownerId: null, currency }, amount });

/** Kind `invoice_write_off`: Dr network_margin W; Cr advertiser_receivable W. */
export function writeOffLines(a: Advertiser, amount: number): PostingLine[] {
  const w = positive(amount);
  return [network('network_margin', a.currency, w), receivable(a, -w)];
}

/** Kind `invoice_write_off_reversal`: the write-off, negated. */
export function writeOffReversalLines(a: Advertiser, amount: number): PostingLine[] {
  return negateLines(writeOffLines(a, amount));
}

/**
 * Kind `invoice_credit`. The reversal entry already credited the receivable R; the credit note
 * gives the money back: from a paid invoice it is refunded (Dr receivable R; Cr stripe_clearing R),
 * on an uncollectible one the write-off was R too large (Dr receivable R; Cr network_margin R).
 * On an open invoice nothing moves: the advertiser simply pays R less.
 */
export function creditLines(a: Advertiser, amount: number, invoiceStatus: 'paid' | 'uncollectible'): PostingLine[] {
  const r = positive(amount);
  return [receivable(a, r), network(invoiceStatus === 'paid' ? 'stripe_clearing' : 'network_margin', a.currency, -r)];
}
