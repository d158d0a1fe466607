import { randomUUID } from 'node:crypto';
import { HttpStatus, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import Stripe from 'stripe';
import { DataSource } from 'typeorm';
import { AuthPrincipal } from '../../common/auth';
import { AppError, invalidField } from '../../common/errors';
import { Page, paginate } from '../../common/pagination';
import { RunEngine, RunProgress } from '../../common/runs/run-engine';
import { updateReturning } from '../../database/sql';
import { addMinor } from '../../common/money';
import { isDefinitiveRefusal, StripeClient } from '../../integrations/stripe/stripe.client';
import { toStripeAmount } from '../../integrations/stripe/stripe-amounts';
import { OutboxService } from '../../queue/outbox/outbox.service';
import { conversionsRepository, InvoiceTaggedRow } from '../conversions/conversions.repository';
import { toMinor } from '../ledger/ledger.service';
import { AwardTaggedRow, bonusAwardsRepository } from '../programs/bonus-awards.repository';
import { Invoice, InvoiceFailure, InvoiceLine, InvoiceRun } from './billing.entities';
import { InvoiceSettlementService } from './invoice-settlement.service';
import { ListInvoicesQueryDto, RequestInvoiceRunDto } from './dto/billing.dto';

/** An invoice's lines, from exactly the conversions (and earned bonuses) its tagging statements returned. */
export function linesOf(tagged: InvoiceTaggedRow[], awards: AwardTaggedRow[] = []): InvoiceLine[] {
  const lines = new Map<string, InvoiceLine>();
  for (const row of tagged) {
    const key = `${row.offer_id}|${row.goal_key}`;
    const line = lines.get(key) ?? { offerId: row.offer_id, offerName: row.offer_name, goal: row.goal_key, conversions: 0, amount: 0 };
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
      open: (runId) => this.dataSource.getRepository(Invoice).find({ where: { runId, status: 'draft' }, order: { id: 'ASC' } }),
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
      const inserted: { id: string }[] = await manager.query(
        `INSERT INTO invoice_runs (period_from, period_to, currency, status, requested_by) VALUES ($1, $2, $3, 'queued', $4)
         ON CONFLICT (period_from, period_to, COALESCE(currency, '')) WHERE status IN ('queued', 'running') DO NOTHING RETURNING id`,
        [from, to, dto.currency ?? null, actor.id],
      );
      if (!inserted.length) {
        return manager
          .createQueryBuilder(InvoiceRun, 'r')
          .where(`r.period_from = :from AND r.period_to = :to AND COALESCE(r.currency, '') = :currency AND r.status IN ('queued', 'running')`, {
            from,
            to,
            currency: dto.currency ?? '',
          })
          .getOneOrFail();
      }
      await this.outbox.enqueue(manager, 'invoice_run.requested', inserted[0].id);
      return manager.findOneByOrFail(InvoiceRun, { id: inserted[0].id });
    });
    this.outbox.notify();
    return run;
  }

  async getRun(id: string): Promise<InvoiceRun> {
    const run = await this.dataSource.getRepository(InvoiceRun).findOneBy({ id });
    if (!run) throw new AppError('invoice_run_not_found', HttpStatus.NOT_FOUND, 'No such invoice run');
    return run;
  }

  list(actor: AuthPrincipal, query: ListInvoicesQueryDto): Promise<Page<Invoice>> {
    const qb = this.dataSource.getRepository(Invoice).createQueryBuilder('i');
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
    const rows: { invoice_id: string; total: string }[] = await this.dataSource.query(
      `SELECT invoice_id, sum(amount)::text AS total FROM invoice_credits WHERE invoice_id = ANY($1::uuid[]) GROUP BY 1`,
      [invoiceIds],
    );
    return new Map(rows.map((r) => [r.invoice_id, Number(r.total)]));
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
      const run = await manager.findOne(InvoiceRun, { where: { id: runId }, lock: { mode: 'pessimistic_write' } });
      if (!run || run.plannedAt) return;
      const groups = uniqueGroups([
        ...(await conversionsRepository.billableGroups(manager, run.currency, run.periodTo)),
        ...(await bonusAwardsRepository.billableGroups(manager, run.currency, run.periodTo)),
      ]);
      let total = 0;
      let count = 0;
      for (const { advertiser_id: advertiserId, currency } of groups) {
        const id = randomUUID();
        const inserted = await manager.query(
          `INSERT INTO invoices (id, run_id, advertiser_id, currency, period_from, period_to, amount, conversions, status)
           VALUES ($1, $2, $3, $4, $5, $6, 1, 0, 'draft') ON CONFLICT (advertiser_id, currency) WHERE status = 'draft' DO NOTHING RETURNING id`,
          [id, runId, advertiserId, currency, run.periodFrom, run.periodTo],
        );
        if (!inserted.length) {
          this.logger.log(`run ${runId}: ${advertiserId} ${currency} is being billed by another run`);
          continue;
        }
        const tagged = await conversionsRepository.tagForInvoice(manager, { id, advertiserId, currency, periodTo: run.periodTo });
        const awards = await bonusAwardsRepository.tagForInvoice(manager, { id, advertiserId, currency, periodTo: run.periodTo });
        if (!tagged.length && !awards.length) {
          await manager.query(`DELETE FROM invoices WHERE id = $1`, [id]);
          continue;
        }
        const lines = linesOf(tagged, awards);
        const amount = lines.reduce((sum, l) => addMinor(sum, l.amount), 0);
        await manager.update(Invoice, { id }, { amount, conversions: tagged.length, lines });
        total = addMinor(total, amount);
        count += 1;
      }
      await manager.update(InvoiceRun, { id: runId }, { plannedAt: new Date(), totalCount: count, totalAmount: total });
    });
  }

  /**
   * An invoice that could not be issued: if Stripe finalized it after all, it is recorded as
   * issued; otherwise its Stripe draft is deleted, its results are released for the next run and
   * the run records why. If Stripe cannot tell us, this throws and the draft waits for a retry.
   */
  private async abandon(invoice: Invoice, cause: unknown): Promise<void> {
    const reason = (cause as Error)?.message ?? String(cause);
    const { stripeInvoiceId } = await this.dataSource.getRepository(Invoice).findOneByOrFail({ id: invoice.id });
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
      const [failed] = await updateReturning(
        manager,
        `UPDATE invoices SET status = 'failed', error = $2, stripe_invoice_id = NULL WHERE id = $1 AND status = 'draft' RETURNING id`,
        [invoice.id, reason.slice(0, 500)],
      );
      if (!failed) return;
      await conversionsRepository.releaseFromInvoice(manager, invoice.id);
      await bonusAwardsRepository.releaseFromInvoice(manager, invoice.id);
      const failure: InvoiceFailure = { invoiceId: invoice.id, advertiserId: invoice.advertiserId, currency: invoice.currency, error: reason.slice(0, 500) };
      await manager.query(`UPDATE invoice_runs SET done_count = done_count + 1, failures = failures || $2::jsonb WHERE id = $1`, [invoice.runId, JSON.stringify([failure])]);
    });
    this.logger.warn(`invoice ${invoice.id} (${invoice.advertiserId}, ${invoice.currency}) could not be issued and was released: ${reason}`);
  }

  private async issue(invoice: Invoice): Promise<void> {
    const api = this.stripe.api;
    const customer = invoice.stripeCustomerId ?? (await this.customerFor(invoice.advertiserId));
    await this.dataSource.getRepository(Invoice).update({ id: invoice.id }, { stripeCustomerId: customer });
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
    await this.dataSource.getRepository(Invoice).update({ id: invoice.id, status: 'draft' }, { stripeInvoiceId: stripeInvoice.id as string });
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
      const [updated] = await updateReturning(
        manager,
        `UPDATE invoices SET status = 'open', stripe_invoice_id = $2, hosted_invoice_url = $3, finalized_at = now() WHERE id = $1 AND status = 'draft' RETURNING id`,
        [invoice.id, finalized.id, finalized.hosted_invoice_url ?? null],
      );
      if (updated) await manager.query(`UPDATE invoice_runs SET done_count = done_count + 1 WHERE id = $1`, [invoice.runId]);
    });
    this.logger.log(`invoice ${invoice.id} issued as ${finalized.id}: ${invoice.amount} ${invoice.currency} minor units`);
    // Results reversed while it was a draft are credited now that there is a Stripe invoice to credit.
    await this.settlement.creditReversals(invoice.id);
  }

  /** The advertiser's Stripe customer: known from an earlier invoice, found by metadata, or created once. */
  private async customerFor(advertiserId: string): Promise<string> {
    const [previous] = await this.dataSource.query(`SELECT stripe_customer_id FROM invoices WHERE advertiser_id = $1 AND stripe_customer_id IS NOT NULL LIMIT 1`, [advertiserId]);
    if (previous) return previous.stripe_customer_id;
    const api = this.stripe.api;
    const found = await api.customers.search({ query: `metadata['advertiser_id']:'${advertiserId}'`, limit: 1 });
    if (found.data[0]) return found.data[0].id;
    const [advertiser] = await this.dataSource.query(`SELECT name, email FROM principals WHERE id = $1`, [advertiserId]);
    const created = await api.customers.create(
      { name: advertiser.name, email: advertiser.email, metadata: { advertiser_id: advertiserId } },
      { idempotencyKey: `afx-customer-${advertiserId}` },
    );
    return created.id;
  }
}
