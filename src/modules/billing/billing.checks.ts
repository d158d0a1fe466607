import { LedgerCheck, noRowsCheck } from '../ledger/ledger.verify';

/** The invoices that still claim their results (a voided or failed one has released them). */
export const BILLING_INVOICES = `('draft', 'open', 'paid', 'uncollectible')`;

/**
 * Each invoice against the conversions (and earned bonuses) it billed, as SQL selecting the invoices that differ:
 * shared by `npm run ledger:verify` and `npm run reconcile`.
 */
export const INVOICES_NOT_MATCHING_CONVERSIONS = `
  SELECT i.id, i.amount::text AS amount, i.conversions, (COALESCE(s.total, 0) + COALESCE(b.total, 0))::text AS billed, COALESCE(s.n, 0)::int AS n
    FROM invoices i
    LEFT JOIN (SELECT invoice_id, sum(revenue) AS total, count(*) AS n FROM conversions WHERE invoice_id IS NOT NULL GROUP BY invoice_id) s ON s.invoice_id = i.id
    LEFT JOIN (SELECT invoice_id, sum(amount) AS total FROM bonus_awards WHERE invoice_id IS NOT NULL GROUP BY invoice_id) b ON b.invoice_id = i.id
   WHERE i.status IN ${BILLING_INVOICES} AND (i.amount <> COALESCE(s.total, 0) + COALESCE(b.total, 0) OR i.conversions <> COALESCE(s.n, 0))`;

export interface InvoiceMismatchRow {
  id: string;
  amount: string;
  conversions: number;
  billed: string;
  n: number;
}

export const describeInvoiceMismatch = (r: InvoiceMismatchRow) =>
  `invoice ${r.id} bills ${r.amount} for ${r.conversions} result(s), its conversions and bonuses sum to ${r.billed} for ${r.n} result(s)`;

/**
 * Billing against conversions and the ledger. Run them when the queues are idle: a result
 * reversed a moment ago is credited once its job has run.
 */
export const BILLING_CHECKS: LedgerCheck[] = [
  noRowsCheck<InvoiceMismatchRow>('every invoice bills exactly its conversions', INVOICES_NOT_MATCHING_CONVERSIONS, describeInvoiceMismatch),
  noRowsCheck<{ id: string; invoice_id: string }>(
    'every reversed (or rejected) result of an issued invoice is credited on it',
    `SELECT c.id, c.invoice_id FROM conversions c JOIN invoices i ON i.id = c.invoice_id
      WHERE c.status IN ('reversed', 'rejected') AND c.revenue > 0 AND i.status IN ('open', 'paid', 'uncollectible')
        AND NOT EXISTS (SELECT 1 FROM invoice_credits k WHERE k.conversion_id = c.id)`,
    (r) => `conversion ${r.id} was reversed but invoice ${r.invoice_id} still bills it`,
  ),
  noRowsCheck<{ id: string; invoice_id: string }>(
    'every clawed-back bonus of an issued invoice is credited on it',
    `SELECT a.id, a.invoice_id FROM bonus_awards a JOIN invoices i ON i.id = a.invoice_id
      WHERE a.status = 'clawed_back' AND a.amount > 0 AND i.status IN ('open', 'paid', 'uncollectible')
        AND NOT EXISTS (SELECT 1 FROM invoice_credits k WHERE k.bonus_award_id = a.id)`,
    (r) => `bonus award ${r.id} was clawed back but invoice ${r.invoice_id} still bills it`,
  ),
  noRowsCheck<{ id: string; amount_paid: string }>(
    'every paid invoice settled what Stripe collected in the ledger',
    `SELECT i.id, i.amount_paid::text FROM invoices i
      WHERE i.status = 'paid' AND i.amount_paid > 0
        AND NOT EXISTS (SELECT 1 FROM journal_entries e WHERE e.cause_type = 'invoice' AND e.cause_id = i.id::text AND e.kind = 'invoice_paid')`,
    (r) => `invoice ${r.id} was paid ${r.amount_paid} but has no invoice_paid entry`,
  ),
];
