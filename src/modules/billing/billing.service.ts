import { randomUUID } from 'node:crypto';
import { HttpStatus, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import Stripe from 'stripe';
import { DataSource } from 'typeorm';
import { AuthPrincipal } from '../../common/auth';
import { AppError, invalidField } from '../../common/errors';
import { Page, paginate } from '../../common/pagination';
import { RunEngine, RunProgress } from '../../common/runs/run-engine';
import { addMinor } from '../../common/money';
import { isDefinitiveRefusal, StripeClient } from '../../integrations/stripe/stripe.client';
import { toStripeAmount } from '../../integrations/stripe/stripe-amounts';
import { OutboxService } from '../../queue/outbox/outbox.service';
import { offersRepository } from '../offers/offers.repository';
import { principalsRepository } from '../principals/principals.repository';
import { conversionsRepository, InvoiceTaggedRow } from '../conversions/conversions.repository';
import { toMinor } from '../ledger/ledger.service';
import { AwardTaggedRow, bonusAwardsRepository } from '../programs/bonus-awards.repository';
import { Invoice, InvoiceFailure, InvoiceLine, InvoiceRun } from './billing.entities';
import { InvoiceSettlementService } from './invoice-settlement.service';
import { invoicesRepository } from './invoices.repository';
import { ListInvoicesQueryDto, RequestInvoiceRunDto } from './dto/billing.dto';

/** An invoice's lines, from exactly the conversions (and earned bonuses) its tagging statements returned (offers named by `offerNames`). */
export function linesOf(tagged: InvoiceTaggedRow[], offerNames: ReadonlyMap<string, string>, awards: AwardTaggedRow[] = []): InvoiceLine[] {
  const lines = new Map<string, InvoiceLine>();
  for (const row of tagged) {
    const key = `${row.offer_id}|${row.goal_key}`;
    const line = lines.get(key) ?? { offerId: row.offer_id, offerName: offerNames.get(row.offer_id) ?? '', goal: row.goal_key, conversions: 0, amount: 0 };
    line.conversions += 1;
    line.amount = addMinor(line.amount, toMinor(row.revenue));
    lines.set(key, line);
  }
  // A bonus is a line of its own per program; `conversions` counts the affiliates that earned it.
  for (const award of awards) {
    const key = `bonus|${award.bonus_id}`;
    const line = lines.get(key) ?? { offerId: award.offer_id, offerName: `Bonus: ${award.name}`, goal: 'bonus', conversions: 0, amount: 0 };
    line.conversions += 1;
    line.amount = addMinor(line.amount, toMinor(award.amount));
    lines.set(key, line);
  }
  return [...lines.values()].sort((a, b) => a.offerName.localeCompare(b.offerName) || a.goal.localeCompare(b.goal));
}

/** Advertiser and currency pairs once each, in order. */
function uniqueGroups(groups: { advertiser_id: string; currency: string }[]): { advertiser_id: string; currency: string }[] {
  const byKey = new Map(groups.map((g) => [`${g.advertiser_id}|${g.currency}`, g]));
  return [...byKey.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, g]) => g);
}

/** Invoice runs, on the run engine (common/runs): plan once (tag results), then issue each draft on Stripe. */
@Injectable()
export class BillingService {
  private readonly logger = new Logger(BillingService.name);
  private readonly engine: RunEngine<Invoice>;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly stripe: StripeClient,
    private readonly outbox: OutboxService,
    private readonly settlement: InvoiceSettlementService,
  ) {
    this.engine = new RunEngine<Invoice>(dataSource, {
      table: 'invoice_runs',
      concurrency: 1,
      noun: 'invoice',
      plan: (runId) => this.plan(runId),
      open: (runId) => invoicesRepository.openInvoices(this.dataSource.manager, runId),
      execute: (invoice) => this.issue(invoice),
      // Only Stripe refusing outright abandons an invoice; anything else (network, 5xx, our own
      // database after Stripe acted) is retried with the same idempotency keys.
      failed: async (invoice, error) => {
        if (!isDefinitiveRefusal(error)) return 'retry';
        await this.abandon(invoice, error);
        return 'settled';
      },
      progress: async (runId) => {
        const run = await this.getRun(runId);
        return { done: run.doneCount, total: run.totalCount };
      },
      abandon: (invoice, reason) => this.abandon(invoice, new Error(reason)),
    });
  }

  async request(actor: AuthPrincipal, dto: RequestInvoiceRunDto): Promise<InvoiceRun> {
    const from = new Date(dto.from);
    const to = new Date(dto.to);
    if (!(to > from)) throw invalidField('to', 'must be after from');
    // eslint-disable-next-line @typescript-eslint/no-unused-expressions -- the getter throws
    this.stripe.api; // the clear 503 now if Stripe is not configured
    const run = await this.dataSource.transaction(async (manager) => {
      const { run, created } = await invoicesRepository.startOrJoinRun(manager, from, to, dto.currency ?? null, actor.id);
      if (created) await this.outbox.enqueue(manager, 'invoice_run.requested', run.id);
      return run;
    });
    this.outbox.notify();
    return run;
  }

  async getRun(id: string): Promise<InvoiceRun> {
    const run = await invoicesRepository.findRun(this.dataSource.manager, id);
    if (!run) throw new AppError('invoice_run_not_found', HttpStatus.NOT_FOUND, 'No such invoice run');
    return run;
  }

  /** One invoice as `actor` may see it: an advertiser only its own (another's id is not found, as an unknown one). */
  async get(actor: AuthPrincipal, id: string): Promise<Invoice> {
    const invoice = await this.dataSource.getRepository(Invoice).findOneBy({ id, ...(actor.role === 'advertiser' ? { advertiserId: actor.id } : {}) });
    if (!invoice) throw new AppError('invoice_not_found', HttpStatus.NOT_FOUND, 'Invoice not found');
    return invoice;
  }

  list(actor: AuthPrincipal, query: ListInvoicesQueryDto): Promise<Page<Invoice>> {
    const qb = invoicesRepository.listQuery(this.dataSource.manager);
    const advertiserId = actor.role === 'advertiser' ? actor.id : query.advertiserId;
    if (advertiserId) qb.andWhere('i.advertiser_id = :advertiserId', { advertiserId });
    if (query.runId) qb.andWhere('i.run_id = :runId', { runId: query.runId });
    if (query.status) qb.andWhere('i.status = :status', { status: query.status });
    if (query.createdFrom) qb.andWhere('i.created_at >= :createdFrom', { createdFrom: query.createdFrom });
    if (query.createdTo) qb.andWhere('i.created_at < :createdTo', { createdTo: query.createdTo });
    return paginate(qb, 'i', query);
  }

  /** Invoices with what reversed results took off them, for the API. */
  async credited(invoiceIds: string[]): Promise<Map<string, number>> {
    if (!invoiceIds.length) return new Map();
    return invoicesRepository.creditedTotals(this.dataSource.manager, invoiceIds);
  }

  /**
   * The job; safe to repeat: planning happens once, finalized invoices are skipped. An invoice
   * Stripe refuses is released and recorded; one Stripe could not answer for is left for the
   * job's next attempt (same idempotency keys), after the others are done.
   */
  async execute(runId: string, onProgress: (p: RunProgress) => Promise<void> = async () => undefined): Promise<InvoiceRun> {
    await this.engine.execute(runId, onProgress);
    return this.getRun(runId);
  }

  /** The job failed for good: what it could not issue is released, so nothing stays tagged by a dead run. */
  markFailed(runId: string, reason: string): Promise<void> {
    return this.engine.giveUp(runId, reason);
  }

  /**
   * Tags each advertiser's billable results with a new draft invoice, and builds the invoice from
   * the rows the tagging UPDATE returned: what is billed is exactly what is tagged. A draft of
   * the same advertiser and currency in another run (the `invoices_one_draft` index) makes this
   * run wait for it, then skip that advertiser: whatever the periods, a result is tagged once.
   */
  private async plan(runId: string): Promise<void> {
    await this.dataSource.transaction(async (manager) => {
      const run = await invoicesRepository.lockRun(manager, runId);
      if (!run || run.plannedAt) return;
      const groups = uniqueGroups([
        ...(await conversionsRepository.billableGroups(manager, run.currency, run.periodTo)),
        ...(await bonusAwardsRepository.billableGroups(manager, run.currency, run.periodTo)),
      ]);
      let total = 0;
      let count = 0;
      for (const { advertiser_id: advertiserId, currency } of groups) {
        const id = randomUUID();
        if (!(await invoicesRepository.insertDraft(manager, { id, runId, advertiserId, currency, periodFrom: run.periodFrom, periodTo: run.periodTo }))) {
          this.logger.log(`run ${runId}: ${advertiserId} ${currency} is being billed by another run`);
          continue;
        }
        const tagged = await conversionsRepository.tagForInvoice(manager, { id, advertiserId, currency, periodTo: run.periodTo });
        const awards = await bonusAwardsRepository.tagForInvoice(manager, { id, advertiserId, currency, periodTo: run.periodTo });
        if (!tagged.length && !awards.length) {
          await invoicesRepository.deleteDraft(manager, id);
          continue;
        }
        const lines = linesOf(tagged, await offersRepository.names(manager, [...new Set(tagged.map((t) => t.offer_id))]), awards);
        const amount = lines.reduce((sum, l) => addMinor(sum, l.amount), 0);
        await invoicesRepository.setContents(manager, id, amount, tagged.length, lines);
        total = addMinor(total, amount);
        count += 1;
      }
      await invoicesRepository.markRunPlanned(manager, runId, count, total);
    });
  }

  /**
   * An invoice that could not be issued: if Stripe finalized it after all, it is recorded as
   * issued; otherwise its Stripe draft is deleted, its results are released for the next run and
   * the run records why. If Stripe cannot tell us, this throws and the draft waits for a retry.
   */
  private async abandon(invoice: Invoice, cause: unknown): Promise<void> {
    const reason = (cause as Error)?.message ?? String(cause);
    const { stripeInvoiceId } = await invoicesRepository.getOrFail(this.dataSource.manager, invoice.id);
    if (stripeInvoiceId) {
      const api = this.stripe.api;
      const onStripe = await api.invoices.retrieve(stripeInvoiceId).catch((e: { statusCode?: number }) => {
        if (e.statusCode === 404) return null;
        throw e;
      });
      if (onStripe && onStripe.status !== 'draft') return this.recordIssued(invoice, onStripe);
      if (onStripe) await api.invoices.del(stripeInvoiceId);
    }
    await this.dataSource.transaction(async (manager) => {
      if (!(await invoicesRepository.failDraft(manager, invoice.id, reason.slice(0, 500)))) return;
      await conversionsRepository.releaseFromInvoice(manager, invoice.id);
      await bonusAwardsRepository.releaseFromInvoice(manager, invoice.id);
      const failure: InvoiceFailure = { invoiceId: invoice.id, advertiserId: invoice.advertiserId, currency: invoice.currency, error: reason.slice(0, 500) };
      await invoicesRepository.countRunDone(manager, invoice.runId, failure);
    });
    this.logger.warn(`invoice ${invoice.id} (${invoice.advertiserId}, ${invoice.currency}) could not be issued and was released: ${reason}`);
  }

  private async issue(invoice: Invoice): Promise<void> {
    const api = this.stripe.api;
    const customer = invoice.stripeCustomerId ?? (await this.customerFor(invoice.advertiserId));
    await invoicesRepository.setCustomer(this.dataSource.manager, invoice.id, customer);
    const stripeInvoice = await api.invoices.create(
      {
        customer,
        currency: invoice.currency.toLowerCase(),
        collection_method: 'send_invoice',
        days_until_due: 30,
        auto_advance: false,
        pending_invoice_items_behavior: 'exclude',
        metadata: { invoice_id: invoice.id, advertiser_id: invoice.advertiserId },
        description: `Results ${invoice.periodFrom.toISOString().slice(0, 10)} to ${invoice.periodTo.toISOString().slice(0, 10)}`,
      },
      { idempotencyKey: `afx-invoice-${invoice.id}` },
    );
    // Recorded while still a draft, so a failure later knows which Stripe draft to delete.
    await invoicesRepository.setStripeDraft(this.dataSource.manager, invoice.id, stripeInvoice.id as string);
    for (const [i, line] of invoice.lines.entries()) {
      await api.invoiceItems.create(
        {
          customer,
          invoice: stripeInvoice.id,
          amount: toStripeAmount(line.amount, invoice.currency).amount,
          currency: invoice.currency.toLowerCase(),
          description: `${line.offerName} – ${line.goal} × ${line.conversions}`,
          metadata: { invoice_id: invoice.id, offer_id: line.offerId, goal: line.goal },
        },
        { idempotencyKey: `afx-invoice-item-${invoice.id}-${i}` },
      );
    }
    const finalized = await api.invoices.finalizeInvoice(stripeInvoice.id as string, {}, { idempotencyKey: `afx-invoice-finalize-${invoice.id}` });
    await this.recordIssued(invoice, finalized);
  }

  private async recordIssued(invoice: Invoice, finalized: Stripe.Invoice): Promise<void> {
    await this.dataSource.transaction(async (manager) => {
      if (!(await invoicesRepository.markIssued(manager, invoice.id, finalized.id as string, finalized.hosted_invoice_url ?? null))) return;
      await invoicesRepository.countRunDone(manager, invoice.runId);
      // The advertiser's outgoing webhook (invoice.issued).
      const data = {
        id: invoice.id,
        amount: invoice.amount,
        currency: invoice.currency,
        conversions: invoice.conversions,
        periodFrom: invoice.periodFrom.toISOString(),
        periodTo: invoice.periodTo.toISOString(),
        status: 'open',
        stripeInvoiceId: finalized.id,
        hostedInvoiceUrl: finalized.hosted_invoice_url ?? null,
      };
      await this.outbox.enqueue(manager, 'webhook.dispatch', invoice.id, { principalId: invoice.advertiserId, type: 'invoice.issued', data });
    });
    this.outbox.notify();
    this.logger.log(`invoice ${invoice.id} issued as ${finalized.id}: ${invoice.amount} ${invoice.currency} minor units`);
    // Results reversed while it was a draft are credited now that there is a Stripe invoice to credit.
    await this.settlement.creditReversals(invoice.id);
  }

  /** The advertiser's Stripe customer: known from an earlier invoice, else found by metadata or created once. */
  private async customerFor(advertiserId: string): Promise<string> {
    const previous = await invoicesRepository.knownCustomer(this.dataSource.manager, advertiserId);
    if (previous) return previous;
    const advertiser = await principalsRepository.find(this.dataSource.manager, advertiserId);
    if (!advertiser) throw new Error(`invoice for advertiser ${advertiserId}, who does not exist`);
    return this.stripe.customerFor(advertiser);
  }
}
