/**
 * The billing half of the emulator beyond creating and paying invoices: credit notes, voiding,
 * marking uncollectible and deleting draft invoices, with the rules Stripe applies to them.
 * Kept apart from store.ts (accounts and transfers live there too) so each grows on its own.
 */
import type Stripe from 'stripe';
import { errors, invalidRequest, type MetadataPatch, type Params } from './http';
import { clone, Collection, newId, now, type Invoice, type StripeStore } from './store';

export type CreditNote = Pick<
  Stripe.CreditNote,
  | 'id'
  | 'object'
  | 'amount'
  | 'created'
  | 'currency'
  | 'customer'
  | 'invoice'
  | 'memo'
  | 'metadata'
  | 'number'
  | 'out_of_band_amount'
  | 'pre_payment_amount'
  | 'post_payment_amount'
  | 'reason'
  | 'status'
  | 'type'
  | 'total'
  | 'subtotal'
  | 'livemode'
  | 'effective_at'
> & { credit_amount: number; refund_amount: number };

export interface CreditNoteInput {
  invoice: string;
  amount?: number;
  lines?: { amount: number; description?: string }[];
  refund_amount?: number;
  credit_amount?: number;
  out_of_band_amount?: number;
  reason?: string;
  memo?: string;
  metadata?: MetadataPatch;
}

const notEditable = (message: string) => invalidRequest(400, message, { code: 'invoice_not_editable', param: 'invoice' });

export class InvoiceAdjustments {
  readonly creditNotes = new Collection<CreditNote>('credit_note');

  constructor(private readonly store: StripeStore) {}

  /**
   * A credit note on an open invoice lowers what is due (pre-payment; an invoice left owing
   * nothing is paid); on a paid invoice it must say where the money goes (refund, customer
   * credit balance or out of band) and cannot exceed what was paid less earlier credit notes.
   */
  createCreditNote(input: CreditNoteInput): CreditNote {
    const invoice = this.store.invoices.get(input.invoice, 'invoice');
    const amount = input.lines?.length ? input.lines.reduce((sum, l) => sum + l.amount, 0) : input.amount;
    if (amount === undefined) throw errors.missing('lines');
    if (!(amount > 0)) throw errors.invalidValue('amount', 'The credit note amount must be positive.');
    const settled = (input.refund_amount ?? 0) + (input.credit_amount ?? 0) + (input.out_of_band_amount ?? 0);
    let pre = 0;
    let post = 0;
    if (invoice.status === 'open' || invoice.status === 'uncollectible') {
      if (amount > invoice.amount_remaining)
        throw errors.invalidValue('amount', `The credit note amount (${amount}) exceeds the amount remaining on the invoice (${invoice.amount_remaining}).`);
      if (settled > 0) throw errors.invalidValue('refund_amount', 'A credit note on an unpaid invoice cannot refund or credit anything.');
      pre = amount;
    } else if (invoice.status === 'paid') {
      const creditable = invoice.amount_paid - invoice.post_payment_credit_notes_amount;
      if (amount > creditable) throw errors.invalidValue('amount', `The credit note amount (${amount}) exceeds the amount paid left to credit (${creditable}).`);
      if (settled !== amount) throw errors.invalidValue('refund_amount', 'The sum of refund_amount, credit_amount and out_of_band_amount must equal the credit note amount.');
      post = amount;
    } else {
      throw notEditable(`You can only credit an open, paid or uncollectible invoice; ${invoice.id} is ${invoice.status}.`);
    }
    const note: CreditNote = {
      id: newId('cn'),
      object: 'credit_note',
      amount,
      created: now(),
      currency: invoice.currency,
      customer: invoice.customer as string,
      invoice: invoice.id as string,
      memo: input.memo ?? null,
      metadata: Object.fromEntries(Object.entries(input.metadata ?? {}).filter((e): e is [string, string] => e[1] !== null)),
      number: `${invoice.number ?? 'CN'}-CN-${this.creditNotes.all().filter((n) => n.invoice === invoice.id).length + 1}`,
      out_of_band_amount: input.out_of_band_amount ?? null,
      credit_amount: input.credit_amount ?? 0,
      refund_amount: input.refund_amount ?? 0,
      pre_payment_amount: pre,
      post_payment_amount: post,
      reason: (input.reason as Stripe.CreditNote.Reason | undefined) ?? null,
      status: 'issued',
      type: pre ? 'pre_payment' : 'post_payment',
      total: amount,
      subtotal: amount,
      livemode: false,
      effective_at: now(),
    };
    this.creditNotes.add(note);
    invoice.pre_payment_credit_notes_amount += pre;
    invoice.post_payment_credit_notes_amount += post;
    if (pre) {
      invoice.amount_due -= pre;
      invoice.amount_remaining -= pre;
    }
    this.store.emit('credit_note.created', note);
    if (pre) {
      this.store.emit('invoice.updated', this.store.presentInvoice(invoice));
      if (invoice.amount_remaining === 0) this.store.markPaid(invoice);
    }
    return clone(note);
  }

  listCreditNotes(filter: { invoice?: string }, options: Parameters<Collection<CreditNote>['list']>[1]): Stripe.ApiList<CreditNote> {
    return clone(this.creditNotes.list((n) => filter.invoice === undefined || n.invoice === filter.invoice, options, '/v1/credit_notes'));
  }

  /** open or uncollectible → void (`invoice.voided`): nothing is owed on it any more. */
  voidInvoice(id: string): Invoice {
    const invoice = this.store.invoices.get(id);
    if (invoice.status !== 'open' && invoice.status !== 'uncollectible')
      throw notEditable(`You can only void an open or uncollectible invoice; ${invoice.id} is ${invoice.status}.`);
    invoice.status = 'void';
    invoice.amount_remaining = 0;
    invoice.status_transitions.voided_at = now();
    this.store.emit('invoice.voided', this.store.presentInvoice(invoice));
    return this.store.presentInvoice(invoice);
  }

  /** open → uncollectible (`invoice.marked_uncollectible`): still payable, no longer expected. */
  markUncollectible(id: string): Invoice {
    const invoice = this.store.invoices.get(id);
    if (invoice.status !== 'open') throw notEditable(`You can only mark an open invoice uncollectible; ${invoice.id} is ${invoice.status}.`);
    invoice.status = 'uncollectible';
    invoice.status_transitions.marked_uncollectible_at = now();
    this.store.emit('invoice.marked_uncollectible', this.store.presentInvoice(invoice));
    return this.store.presentInvoice(invoice);
  }

  /** Only a draft can be deleted; its invoice items become pending again, as on Stripe. */
  deleteInvoice(id: string): { id: string; object: 'invoice'; deleted: true } {
    const invoice = this.store.invoices.get(id);
    if (invoice.status !== 'draft') throw notEditable(`You can only delete draft invoices; ${invoice.id} is ${invoice.status}.`);
    for (const item of this.store.invoiceItems.all()) if (item.invoice === id) item.invoice = null;
    this.store.invoices.remove(id);
    this.store.emit('invoice.deleted', invoice);
    return { id, object: 'invoice', deleted: true };
  }
}

const CREDIT_NOTE_PARAMS = [
  'invoice',
  'amount',
  'lines',
  'refund_amount',
  'credit_amount',
  'out_of_band_amount',
  'reason',
  'memo',
  'metadata',
  'email_type',
  'effective_at',
  'refunds',
];

/** `lines[0][type]=custom_line_item&lines[0][unit_amount]=500&lines[0][quantity]=1` → amounts. */
function creditLines(p: Params): CreditNoteInput['lines'] {
  const raw = p.object('lines');
  if (!raw) return undefined;
  return Object.values(raw).map((line, i) => {
    if (typeof line !== 'object') throw errors.invalidValue(`lines[${i}]`, 'Invalid object');
    const int = (name: string) => {
      const v = line[name];
      if (v === undefined) return undefined;
      if (typeof v !== 'string' || !/^\d+$/.test(v)) throw errors.invalidInteger(`lines[${i}][${name}]`, String(v));
      return Number(v);
    };
    if (line.type !== 'custom_line_item') throw errors.invalidValue(`lines[${i}][type]`, 'The emulator supports custom_line_item credit note lines only.');
    const unit = int('unit_amount');
    if (unit === undefined) throw errors.missing(`lines[${i}][unit_amount]`);
    return { amount: unit * (int('quantity') ?? 1), description: typeof line.description === 'string' ? line.description : undefined };
  });
}

type Route = (method: string, pattern: string, known: readonly string[], handler: (ctx: { params: Params; path: Record<string, string> }) => unknown) => unknown;

export function addBillingRoutes(route: Route, adjustments: InvoiceAdjustments, listOptions: (p: Params) => Parameters<Collection<CreditNote>['list']>[1]): void {
  route('POST', '/v1/credit_notes', CREDIT_NOTE_PARAMS, ({ params: p }) =>
    adjustments.createCreditNote({
      invoice: p.requiredString('invoice'),
      amount: p.integer('amount'),
      lines: creditLines(p),
      refund_amount: p.integer('refund_amount', { min: 0 }),
      credit_amount: p.integer('credit_amount', { min: 0 }),
      out_of_band_amount: p.integer('out_of_band_amount', { min: 0 }),
      reason: p.oneOf('reason', ['duplicate', 'fraudulent', 'order_change', 'product_unsatisfactory'] as const),
      memo: p.string('memo'),
      metadata: p.metadata(),
    }),
  );
  route('GET', '/v1/credit_notes', ['limit', 'starting_after', 'ending_before', 'invoice', 'customer'], ({ params: p }) =>
    adjustments.listCreditNotes({ invoice: p.string('invoice') }, listOptions(p)),
  );
  route('GET', '/v1/credit_notes/:id', [], ({ path }) => clone(adjustments.creditNotes.get(path.id)));
  route('POST', '/v1/invoices/:id/void', [], ({ path }) => adjustments.voidInvoice(path.id));
  route('POST', '/v1/invoices/:id/mark_uncollectible', [], ({ path }) => adjustments.markUncollectible(path.id));
  route('DELETE', '/v1/invoices/:id', [], ({ path }) => adjustments.deleteInvoice(path.id));
}
