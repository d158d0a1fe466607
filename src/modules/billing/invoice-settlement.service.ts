import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import Stripe from 'stripe';
import { DataSource, EntityManager } from 'typeorm';
import { UUID_PATTERN } from '../../common/validation/validators';
import { StripeClient } from '../../integrations/stripe/stripe.client';
import { StripeEventsService } from '../../integrations/stripe/stripe-events.service';
import { conversionsRepository } from '../conversions/conversions.repository';
import { bonusAwardsRepository } from '../programs/bonus-awards.repository';
import { FundingService } from '../programs/funding.service';
import { LedgerService } from '../ledger/ledger.service';
import { invoicePaidLines, LEDGER_KINDS, PostingLine } from '../ledger/ledger.postings';
import { CreditedInvoiceStatus, Invoice } from './billing.entities';
import { CreditCause, invoicesRepository } from './invoices.repository';
import { BILLING_KINDS, creditLines, writeOffLines, writeOffReversalLines } from './billing.postings';

/**
 * What happens to an invoice after it is issued, as Stripe reports it (`invoice.paid`,
 * `invoice.voided`, `invoice.marked_uncollectible`) and as results billed on it are reversed
 * (one Stripe credit note per reversed result). See README, "Advertiser billing".
 */
@Injectable()
export class InvoiceSettlementService implements OnModuleInit {
  private readonly logger = new Logger(InvoiceSettlementService.name);

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly stripe: StripeClient,
    private readonly ledger: LedgerService,
    private readonly events: StripeEventsService,
    private readonly funding: FundingService,
  ) {}

  onModuleInit(): void {
    this.events.on('billing', 'invoice.paid', (manager, event) => this.paid(manager, event));
    this.events.on('billing', 'invoice.voided', (manager, event) => this.voided(manager, event));
    this.events.on('billing', 'invoice.marked_uncollectible', (manager, event) => this.uncollectible(manager, event));
  }

  /** Ours, by Stripe's id or, when we never recorded it (a run stopped half-way), by the id we put in its metadata. */
  private async findLocked(manager: EntityManager, stripeInvoice: Stripe.Invoice): Promise<Invoice | null> {
    const ours = stripeInvoice.metadata?.invoice_id;
    const byMetadata = ours && UUID_PATTERN.test(ours) ? ours : null;
    const invoice = await invoicesRepository.lockByStripeInvoice(manager, stripeInvoice.id as string, byMetadata);
    if (!invoice) return null;
    if (invoice.stripeInvoiceId && invoice.stripeInvoiceId !== stripeInvoice.id) return null; // another Stripe invoice claims it
    if (!invoice.stripeInvoiceId) await invoicesRepository.setStripeInvoice(manager, invoice.id, stripeInvoice.id as string);
    return invoice;
  }

  private post(manager: EntityManager, invoice: Invoice, kind: string, lines: PostingLine[], memo: string | null) {
    return this.ledger.post(manager, { kind, causeType: 'invoice', causeId: invoice.id, lines, memo });
  }

  /**
   * A write-off comes back before anything else moves: the money is owed again. Credit notes
   * issued while it was uncollectible already took their part of the write-off back.
   */
  private async undoWriteOff(manager: EntityManager, invoice: Invoice, memo: string): Promise<void> {
    const left = invoice.writtenOff - (await this.credited(manager, invoice.id, 'uncollectible'));
    if (left > 0) await this.post(manager, invoice, BILLING_KINDS.writeOffReversal, writeOffReversalLines(invoice, left), memo);
  }

  /** Settles what Stripe collected (`amount_paid`), not what we billed: a shortfall stays receivable. */
  private async paid(manager: EntityManager, event: Stripe.Event): Promise<string> {
    const paid = event.data.object as Stripe.Invoice;
    // A prepaid advertiser's top-up billed through Stripe (README, "Commission programs").
    if (paid.metadata?.afx_funding_id) return this.funding.invoicePaid(manager, paid);
    const invoice = await this.findLocked(manager, paid);
    if (!invoice) return 'unknown invoice';
    if (invoice.status === 'paid') return 'already paid';
    if (invoice.status === 'uncollectible') await this.undoWriteOff(manager, invoice, paid.id as string);
    const amount = paid.amount_paid ?? 0;
    await invoicesRepository.settle(manager, invoice.id, { status: 'paid', paidAt: new Date(event.created * 1000), amountPaid: amount });
    if (amount > 0) await this.post(manager, invoice, LEDGER_KINDS.invoicePaid, invoicePaidLines(invoice, amount), paid.id as string);
    const owed = invoice.amount - amount - (await this.credited(manager, invoice.id, 'open'));
    return owed > 0 ? `receivable settled by ${amount}, ${owed} still owed` : 'receivable settled';
  }

  /** Nothing is owed on a voided invoice: its results go back to be billed by the next run. */
  private async voided(manager: EntityManager, event: Stripe.Event): Promise<string> {
    const voided = event.data.object as Stripe.Invoice;
    const invoice = await this.findLocked(manager, voided);
    if (!invoice) return 'unknown invoice';
    if (invoice.status !== 'open' && invoice.status !== 'uncollectible') return `not voided: the invoice is ${invoice.status}`;
    if (invoice.status === 'uncollectible') await this.undoWriteOff(manager, invoice, voided.id as string);
    await invoicesRepository.settle(manager, invoice.id, { status: 'void', voidedAt: new Date(event.created * 1000) });
    const released = await conversionsRepository.releaseFromInvoice(manager, invoice.id);
    const bonuses = await bonusAwardsRepository.releaseFromInvoice(manager, invoice.id);
    return `voided; ${released} result(s) and ${bonuses} bonus(es) released to the next invoice run`;
  }

  /** What Stripe says is left to pay (`amount_remaining`) is written off the receivable; it stays payable. */
  private async uncollectible(manager: EntityManager, event: Stripe.Event): Promise<string> {
    const marked = event.data.object as Stripe.Invoice;
    const invoice = await this.findLocked(manager, marked);
    if (!invoice) return 'unknown invoice';
    if (invoice.status !== 'open') return `not written off: the invoice is ${invoice.status}`;
    const amount = marked.amount_remaining ?? 0;
    await invoicesRepository.settle(manager, invoice.id, { status: 'uncollectible', writtenOff: amount });
    if (amount > 0) await this.post(manager, invoice, BILLING_KINDS.writeOff, writeOffLines(invoice, amount), marked.id as string);
    return `written off: ${amount}`;
  }

  private credited(manager: EntityManager, invoiceId: string, status?: CreditedInvoiceStatus): Promise<number> {
    return invoicesRepository.credited(manager, invoiceId, status);
  }

  /** Credits every reversed result and clawed-back bonus of an invoice not credited yet (after it is issued: those that came while it was a draft). */
  async creditReversals(invoiceId: string): Promise<void> {
    const manager = this.dataSource.manager;
    const reversed = await conversionsRepository.reversedOnInvoice(manager, invoiceId);
    const credited = await invoicesRepository.creditedCauses(manager, 'conversion', reversed);
    for (const id of reversed.filter((id) => !credited.has(id))) await this.creditReversal(id);
    const clawedBack = await bonusAwardsRepository.clawedBackOnInvoice(manager, invoiceId);
    const creditedAwards = await invoicesRepository.creditedCauses(manager, 'bonus_award', clawedBack);
    for (const id of clawedBack.filter((id) => !creditedAwards.has(id))) await this.creditBonusClawback(id);
  }

  /**
   * The job for a reversed result: a Stripe credit note for its revenue on the invoice that
   * billed it, whatever that invoice's state, and the ledger entry that state needs. Safe to
   * repeat: one credit per conversion, the idempotency key names the conversion and the kind.
   */
  async creditReversal(conversionId: string): Promise<string> {
    const conversion = await conversionsRepository.reversedRow(this.dataSource.manager, conversionId);
    // A billed result rejected after billing (an approved pixel superseded, a rejection by hand) is taken off as a reversed one is.
    if (!conversion || (conversion.status !== 'reversed' && conversion.status !== 'rejected') || !conversion.invoice_id || Number(conversion.revenue) <= 0)
      return 'nothing to credit';
    return this.credit({ type: 'conversion', id: conversionId }, conversion.invoice_id, Number(conversion.revenue), `Reversed result ${conversionId}`);
  }

  /** The job for a bonus clawed back after it was billed: credited on its invoice as a reversed result is. */
  async creditBonusClawback(awardId: string): Promise<string> {
    const award = await bonusAwardsRepository.creditRow(this.dataSource.manager, awardId);
    if (!award || award.status !== 'clawed_back' || !award.invoice_id || Number(award.amount) <= 0) return 'nothing to credit';
    return this.credit({ type: 'bonus_award', id: awardId }, award.invoice_id, Number(award.amount), `Bonus clawed back: ${award.name}`);
  }

  private async credit(cause: CreditCause, invoiceId: string, amount: number, description: string): Promise<string> {
    // A credit is recorded once its credit note exists.
    if (await invoicesRepository.isCredited(this.dataSource.manager, cause)) return 'already credited';
    const invoice = await invoicesRepository.getOrFail(this.dataSource.manager, invoiceId);
    // A draft is credited once it is issued (the run calls creditReversals); void and failed ones bill nothing.
    if (!invoice.stripeInvoiceId || !['open', 'paid', 'uncollectible'].includes(invoice.status)) return `not credited: the invoice is ${invoice.status}`;
    const api = this.stripe.api;
    // Stripe's own state decides the kind of credit note: ours may lag behind a webhook.
    const status = (await api.invoices.retrieve(invoice.stripeInvoiceId)).status as string;
    if (status !== 'open' && status !== 'paid' && status !== 'uncollectible') return `not credited: the Stripe invoice is ${status}`;
    const byConversion = cause.type === 'conversion';
    const note = await api.creditNotes.create(
      {
        invoice: invoice.stripeInvoiceId,
        lines: [{ type: 'custom_line_item', unit_amount: amount, quantity: 1, description }],
        ...(status === 'paid' ? { refund_amount: amount } : {}),
        reason: 'order_change',
        metadata: { invoice_id: invoice.id, ...(byConversion ? { conversion_id: cause.id } : { bonus_award_id: cause.id }) },
      },
      // The conversion's key as it always was; a bonus award's names its kind.
      { idempotencyKey: byConversion ? `afx-credit-note-${cause.id}-${status}` : `afx-credit-note-bonus-${cause.id}-${status}` },
    );
    await this.dataSource.transaction(async (manager) => {
      await invoicesRepository.addCredit(manager, { invoiceId: invoice.id, cause, amount, currency: invoice.currency, invoiceStatus: status, stripeCreditNoteId: note.id });
      if (status !== 'open') {
        await this.ledger.post(manager, {
          kind: BILLING_KINDS.credit,
          causeType: cause.type,
          causeId: cause.id,
          lines: creditLines(invoice, amount, status),
          memo: note.id,
        });
      }
    });
    this.logger.log(`${cause.type} ${cause.id} credited on invoice ${invoice.id} (${status}) by ${note.id}: ${amount} ${invoice.currency} minor units`);
    return `credited by ${note.id}`;
  }
}
