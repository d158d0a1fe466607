import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import Stripe from 'stripe';
import { DataSource } from 'typeorm';
import { StripeClient } from '../../integrations/stripe/stripe.client';
import { describeInvoiceMismatch, INVOICES_NOT_MATCHING_CONVERSIONS, InvoiceMismatchRow } from '../billing/billing.checks';
import { fromStripeAmount } from '../../integrations/stripe/stripe-amounts';
import { LEDGER_KINDS } from '../ledger/ledger.postings';
import { RailTransfer } from '../payouts/rails/payout-rail';
import { PayoutRails } from '../payouts/rails/payout-rails';

export type DifferenceCode =
  | 'unknown_transfer'
  | 'duplicate_transfer'
  | 'transfer_not_recorded'
  | 'missing_transfer'
  | 'transfer_mismatch'
  | 'reversed_transfer_still_paid'
  | 'payout_not_in_ledger'
  | 'failed_payout_not_returned'
  | 'paid_payout_returned_in_ledger'
  | 'unknown_invoice'
  | 'invoice_not_recorded'
  | 'missing_invoice'
  | 'invoice_mismatch'
  | 'paid_invoice_not_settled'
  | 'settled_invoice_not_paid'
  | 'invoice_conversions_mismatch'
  | 'credit_notes_mismatch'
  | 'voided_invoice_not_released'
  | 'uncollectible_invoice_not_written_off';

export interface Difference {
  code: DifferenceCode;
  /** The rail's or Stripe's object, or our row, it is about. */
  subject: string;
  message: string;
}

export interface Reconciliation {
  /** The payout rails whose transfers were read (their labels). */
  rails: string[];
  transfers: number;
  payouts: number;
  invoices: number;
  differences: Difference[];
}

interface PayoutRow {
  id: string;
  status: string;
  amount: string;
  currency: string;
  rail: string;
  external_account_id: string;
  external_id: string | null;
  posted: boolean;
  returned: boolean;
}

interface InvoiceRow {
  id: string;
  status: string;
  amount: string;
  currency: string;
  stripe_invoice_id: string | null;
  settled: boolean;
  /** What our credit notes for reversed results took off it. */
  credited: string;
}

/**
 * Compares the ledger's side of the payout rails and Stripe (payouts and their entries,
 * advertiser invoices and their settlements) with what they hold (every transfer on each rail,
 * every Stripe invoice), and lists each difference. Read-only on both sides: it reports, a person
 * decides.
 */
@Injectable()
export class ReconciliationService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly stripe: StripeClient,
    private readonly rails: PayoutRails,
  ) {}

  async reconcile(): Promise<Reconciliation> {
    const api = this.stripe.api;
    const rails = this.rails.all();
    for (const rail of rails) rail.assertReady();
    const [transfersByRail, invoices] = await Promise.all([Promise.all(rails.map((rail) => rail.listTransfers())), all(api.invoices.list({ limit: 100 }))]);
    const payouts: PayoutRow[] = await this.dataSource.query(
      `SELECT p.id, p.status, p.amount::text, p.currency, p.rail, p.external_account_id, p.external_id,
              EXISTS (SELECT 1 FROM journal_entries e WHERE e.cause_type = 'payout' AND e.cause_id = p.id::text AND e.kind = $1) AS posted,
              EXISTS (SELECT 1 FROM journal_entries e WHERE e.cause_type = 'payout' AND e.cause_id = p.id::text AND e.kind = $2) AS returned
         FROM payouts p`,
      [LEDGER_KINDS.payout, LEDGER_KINDS.payoutReversal],
    );
    const ours: InvoiceRow[] = await this.dataSource.query(
      `SELECT i.id, i.status, i.amount::text, i.currency, i.stripe_invoice_id,
              -- A paid invoice Stripe collected nothing on (credit notes took all of it) has nothing to settle.
              (EXISTS (SELECT 1 FROM journal_entries e WHERE e.cause_type = 'invoice' AND e.cause_id = i.id::text AND e.kind = $1)
                OR (i.status = 'paid' AND i.amount_paid = 0)) AS settled,
              (SELECT COALESCE(sum(k.amount), 0) FROM invoice_credits k WHERE k.invoice_id = i.id)::text AS credited
         FROM invoices i`,
      [LEDGER_KINDS.invoicePaid],
    );
    const unmatched: InvoiceMismatchRow[] = await this.dataSource.query(INVOICES_NOT_MATCHING_CONVERSIONS);
    const transferDifferences = rails.flatMap((rail, i) =>
      compareTransfers(
        transfersByRail[i],
        payouts.filter((p) => p.rail === rail.name),
        rail.label,
      ),
    );
    return {
      rails: rails.map((rail) => rail.label),
      transfers: transfersByRail.reduce((sum, t) => sum + t.length, 0),
      payouts: payouts.length,
      invoices: invoices.length,
      differences: [...transferDifferences, ...compareInvoices(invoices, ours), ...unmatched.map(invoiceConversionsMismatch)],
    };
  }
}

async function all<T extends { id?: string }>(list: Stripe.ApiListPromise<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of list) items.push(item);
  return items;
}

const money = (amount: number | string, currency: string) => `${amount} ${currency.toUpperCase()}`;

/** One rail's transfers against the payouts on that rail (`railLabel` names it in messages). */
export function compareTransfers(transfers: RailTransfer[], payouts: PayoutRow[], railLabel: string): Difference[] {
  const differences: Difference[] = [];
  const add = (code: DifferenceCode, subject: string, message: string) => differences.push({ code, subject, message });
  const payoutsById = new Map(payouts.map((p) => [p.id, p]));
  const byPayout = new Map<string, RailTransfer[]>();
  for (const transfer of transfers) {
    const payoutId = transfer.payoutId;
    const payout = payoutId ? payoutsById.get(payoutId) : undefined;
    if (!payout) {
      add('unknown_transfer', transfer.id, `${money(transfer.amount, transfer.currency)} to ${transfer.destination} that no payout of the ledger accounts for`);
      continue;
    }
    byPayout.set(payout.id, [...(byPayout.get(payout.id) ?? []), transfer]);
  }
  for (const payout of payouts) {
    const found = byPayout.get(payout.id) ?? [];
    const live = found.filter((t) => !t.reversed);
    if (live.length > 1) add('duplicate_transfer', `payout ${payout.id}`, `paid by ${live.length} transfers: ${live.map((t) => t.id).join(', ')}`);
    if (payout.status === 'paid') {
      const recorded = found.find((t) => t.id === payout.external_id);
      if (!recorded) add('missing_transfer', `payout ${payout.id}`, `paid with transfer ${payout.external_id ?? '(none)'}, which ${railLabel} does not have`);
      else if (recorded.reversed) add('reversed_transfer_still_paid', `payout ${payout.id}`, `transfer ${recorded.id} was reversed on ${railLabel} but the payout is still paid`);
      else if (recorded.amount !== Number(payout.amount) || recorded.currency !== payout.currency.toUpperCase() || recorded.destination !== payout.external_account_id) {
        add(
          'transfer_mismatch',
          `payout ${payout.id}`,
          `ledger ${money(payout.amount, payout.currency)} to ${payout.external_account_id}, ${railLabel} ${money(recorded.amount, recorded.currency)} to ${recorded.destination}`,
        );
      }
      if (payout.returned) add('paid_payout_returned_in_ledger', `payout ${payout.id}`, 'paid, yet the ledger gave its money back');
    } else if (live.length) {
      add(
        'transfer_not_recorded',
        `payout ${payout.id}`,
        `${payout.status}, yet ${railLabel} transferred ${live.map((t) => `${t.id} (${money(t.amount, t.currency)})`).join(', ')}`,
      );
    }
    if (!payout.posted) add('payout_not_in_ledger', `payout ${payout.id}`, `${payout.status} payout of ${money(payout.amount, payout.currency)} has no payout entry`);
    if (payout.status === 'failed' && !payout.returned)
      add('failed_payout_not_returned', `payout ${payout.id}`, 'failed, but its money was not returned to the affiliate in the ledger');
  }
  return differences;
}

/** Our invoice against the conversions it billed (what Stripe was asked for is compared below). */
export function invoiceConversionsMismatch(row: InvoiceMismatchRow): Difference {
  return { code: 'invoice_conversions_mismatch', subject: `invoice ${row.id}`, message: describeInvoiceMismatch(row) };
}

export function compareInvoices(invoices: Stripe.Invoice[], ours: InvoiceRow[]): Difference[] {
  const differences: Difference[] = [];
  const add = (code: DifferenceCode, subject: string, message: string) => differences.push({ code, subject, message });
  const byStripeId = new Map(ours.filter((i) => i.stripe_invoice_id).map((i) => [i.stripe_invoice_id as string, i]));
  const byId = new Map(ours.map((i) => [i.id, i]));
  const seen = new Set<string>();
  for (const invoice of invoices) {
    const id = invoice.id as string;
    // A prepaid top-up's invoice (README, "Commission programs") bills no results: not billing's to match.
    if (invoice.metadata?.afx_funding_id) continue;
    const mine = byStripeId.get(id);
    if (!mine) {
      const named = byId.get(invoice.metadata?.invoice_id ?? '');
      if (named && !named.stripe_invoice_id) add('invoice_not_recorded', id, `created for invoice ${named.id}, which does not record it (an invoice run stopped half-way)`);
      else add('unknown_invoice', id, `${invoice.status} invoice of ${money(invoice.amount_due, invoice.currency)} that no invoice of the ledger accounts for`);
      continue;
    }
    seen.add(mine.id);
    // Credit notes lower what is due, never the total billed.
    if (fromStripeAmount(invoice.total, mine.currency) !== Number(mine.amount) || invoice.currency !== mine.currency.toLowerCase()) {
      add('invoice_mismatch', `invoice ${mine.id}`, `ledger ${money(mine.amount, mine.currency)}, Stripe ${id} ${money(invoice.total, invoice.currency)}`);
    }
    const creditNotes = fromStripeAmount((invoice.pre_payment_credit_notes_amount ?? 0) + (invoice.post_payment_credit_notes_amount ?? 0), mine.currency);
    if (creditNotes !== Number(mine.credited)) {
      add(
        'credit_notes_mismatch',
        `invoice ${mine.id}`,
        `reversed results credited ${money(mine.credited, mine.currency)}, Stripe ${id} has credit notes of ${money(creditNotes, invoice.currency)}`,
      );
    }
    if (invoice.status === 'void' && mine.status !== 'void')
      add('voided_invoice_not_released', `invoice ${mine.id}`, `${id} is void on Stripe, but the invoice is ${mine.status} and still bills its results`);
    if (invoice.status === 'uncollectible' && mine.status !== 'uncollectible') {
      add('uncollectible_invoice_not_written_off', `invoice ${mine.id}`, `${id} is uncollectible on Stripe, but the invoice is ${mine.status}`);
    }
    const paidOnStripe = invoice.status === 'paid';
    if (paidOnStripe && !(mine.status === 'paid' && mine.settled)) {
      add(
        'paid_invoice_not_settled',
        `invoice ${mine.id}`,
        `${id} is paid on Stripe, but the receivable is not settled (status ${mine.status}${mine.settled ? '' : ', no invoice_paid entry'})`,
      );
    }
    if (!paidOnStripe && (mine.status === 'paid' || mine.settled))
      add('settled_invoice_not_paid', `invoice ${mine.id}`, `settled in the ledger, but ${id} is ${invoice.status} on Stripe`);
  }
  for (const mine of ours) {
    if (mine.stripe_invoice_id && !seen.has(mine.id)) add('missing_invoice', `invoice ${mine.id}`, `issued as ${mine.stripe_invoice_id}, which Stripe does not have`);
  }
  return differences;
}

export function formatReconciliation(result: Reconciliation): string[] {
  const lines = result.differences.map((d) => `✗ ${d.code} ${d.subject}: ${d.message}`);
  const seen = `${result.transfers} ${result.rails.join(' + ')} transfers, ${result.payouts} payouts, ${result.invoices} Stripe invoices`;
  lines.push(result.differences.length ? `reconciliation FAILED: ${result.differences.length} difference(s) in ${seen}` : `reconciled: ${seen}, no difference`);
  return lines;
}
