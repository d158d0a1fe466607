import { HttpStatus, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import Stripe from 'stripe';
import { DataSource, EntityManager } from 'typeorm';
import { AuthPrincipal } from '../../common/auth';
import { AppError, invalidField } from '../../common/errors';
import { Page, paginate } from '../../common/pagination';
import { updateReturning } from '../../database/sql';
import { StripeClient } from '../../integrations/stripe/stripe.client';
import { toStripeAmount } from '../../integrations/stripe/stripe-amounts';
import { StripeEventsService } from '../../integrations/stripe/stripe-events.service';
import { OutboxService } from '../../queue/outbox/outbox.service';
import { LedgerService } from '../ledger/ledger.service';
import { invoicePaidLines, LEDGER_KINDS } from '../ledger/ledger.postings';
import { Invoice, InvoiceLine, InvoiceRun } from './billing.entities';
import { ListInvoicesQueryDto, RequestInvoiceRunDto } from './dto/billing.dto';

interface Billable {
  advertiserId: string;
  currency: string;
  offerId: string;
  offerName: string;
  goal: string;
  conversions: number;
  amount: string;
}

/**
 * CPA/CPL billing: an invoice run groups a period's approved results per advertiser and
 * currency, marks them billed with the invoice in one transaction, then creates the Stripe
 * customer, invoice items and invoice (idempotency keys derived from our ids) and finalizes it.
 * `invoice.paid` settles the advertiser's receivable in the ledger.
 */
@Injectable()
export class BillingService implements OnModuleInit {
  private readonly logger = new Logger(BillingService.name);

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly stripe: StripeClient,
    private readonly ledger: LedgerService,
    private readonly outbox: OutboxService,
    private readonly events: StripeEventsService,
  ) {}

  onModuleInit(): void {
    this.events.on('invoice.paid', (manager, event) => this.invoicePaid(manager, event));
  }

  async request(actor: AuthPrincipal, dto: RequestInvoiceRunDto): Promise<InvoiceRun> {
    const from = new Date(dto.from);
    const to = new Date(dto.to);
    if (!(to > from)) throw invalidField('to', 'must be after from');
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
          .where(`r.period_from = :from AND r.period_to = :to AND COALESCE(r.currency, '') = :currency AND r.status IN ('queued', 'running')`, { from, to, currency: dto.currency ?? '' })
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

  /** The job; safe to repeat: planning happens once, finalized invoices are skipped. */
  async execute(runId: string, onProgress: (p: { done: number; total: number }) => Promise<void> = async () => undefined): Promise<InvoiceRun> {
    await this.dataSource.query(`UPDATE invoice_runs SET status = 'running' WHERE id = $1 AND status IN ('queued', 'running')`, [runId]);
    await this.plan(runId);
    const drafts = await this.dataSource.getRepository(Invoice).find({ where: { runId, status: 'draft' }, order: { id: 'ASC' } });
    for (const invoice of drafts) {
      await this.issue(invoice);
      const run = await this.getRun(runId);
      await onProgress({ done: run.doneCount, total: run.totalCount });
    }
    await this.dataSource.query(`UPDATE invoice_runs SET status = 'completed', finished_at = now() WHERE id = $1 AND status = 'running'`, [runId]);
    return this.getRun(runId);
  }

  async markFailed(runId: string, reason: string): Promise<void> {
    await this.dataSource.query(`UPDATE invoice_runs SET status = 'failed', error = $2, finished_at = now() WHERE id = $1 AND status IN ('queued', 'running')`, [runId, reason.slice(0, 500)]);
  }

  private async plan(runId: string): Promise<void> {
    await this.dataSource.transaction(async (manager) => {
      const run = await manager.findOne(InvoiceRun, { where: { id: runId }, lock: { mode: 'pessimistic_write' } });
      if (!run || run.plannedAt) return;
      const rows: Billable[] = await manager.query(
        `SELECT c.advertiser_id AS "advertiserId", c.currency, c.offer_id AS "offerId", o.name AS "offerName", c.goal_key AS goal,
                count(*)::int AS conversions, sum(c.revenue)::bigint AS amount
           FROM conversions c JOIN offers o ON o.id = c.offer_id
          WHERE c.status IN ('approved', 'paid') AND c.invoice_id IS NULL AND c.revenue > 0
            AND c.created_at >= $1 AND c.created_at < $2 AND ($3::char(3) IS NULL OR c.currency = $3)
          GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 4, 5`,
        [run.periodFrom, run.periodTo, run.currency],
      );
      const groups = new Map<string, InvoiceLine[]>();
      for (const row of rows) {
        const key = `${row.advertiserId}|${row.currency}`;
        groups.set(key, [...(groups.get(key) ?? []), { offerId: row.offerId, offerName: row.offerName, goal: row.goal, conversions: row.conversions, amount: Number(row.amount) }]);
      }
      let total = 0;
      for (const [key, lines] of groups) {
        const [advertiserId, currency] = key.split('|');
        const amount = lines.reduce((sum, l) => sum + l.amount, 0);
        total += amount;
        const invoice = await manager.save(
          manager.create(Invoice, { runId, advertiserId, currency, periodFrom: run.periodFrom, periodTo: run.periodTo, amount, conversions: lines.reduce((n, l) => n + l.conversions, 0), status: 'draft', lines }),
        );
        await manager.query(
          `UPDATE conversions SET invoice_id = $1 WHERE advertiser_id = $2 AND currency = $3 AND status IN ('approved', 'paid') AND invoice_id IS NULL AND revenue > 0
             AND created_at >= $4 AND created_at < $5`,
          [invoice.id, advertiserId, currency, run.periodFrom, run.periodTo],
        );
      }
      await manager.update(InvoiceRun, { id: runId }, { plannedAt: new Date(), totalCount: groups.size, totalAmount: total });
    });
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
    await this.dataSource.transaction(async (manager) => {
      const [updated] = await updateReturning(
        manager,
        `UPDATE invoices SET status = 'open', stripe_invoice_id = $2, hosted_invoice_url = $3, finalized_at = now() WHERE id = $1 AND status = 'draft' RETURNING id`,
        [invoice.id, finalized.id, finalized.hosted_invoice_url ?? null],
      );
      if (updated) await manager.query(`UPDATE invoice_runs SET done_count = done_count + 1 WHERE id = $1`, [invoice.runId]);
    });
    this.logger.log(`invoice ${invoice.id} issued as ${finalized.id}: ${invoice.amount} ${invoice.currency} minor units`);
  }

  /** The advertiser's Stripe customer: known from an earlier invoice, found by metadata, or created once. */
  private async customerFor(advertiserId: string): Promise<string> {
    const [previous] = await this.dataSource.query(`SELECT stripe_customer_id FROM invoices WHERE advertiser_id = $1 AND stripe_customer_id IS NOT NULL LIMIT 1`, [advertiserId]);
    if (previous) return previous.stripe_customer_id;
    const api = this.stripe.api;
    const found = await api.customers.search({ query: `metadata['advertiser_id']:'${advertiserId}'`, limit: 1 });
    if (found.data[0]) return found.data[0].id;
    const [advertiser] = await this.dataSource.query(`SELECT name, email FROM principals WHERE id = $1`, [advertiserId]);
    const created = await api.customers.create({ name: advertiser.name, email: advertiser.email, metadata: { advertiser_id: advertiserId } }, { idempotencyKey: `afx-customer-${advertiserId}` });
    return created.id;
  }

  private async invoicePaid(manager: EntityManager, event: Stripe.Event): Promise<string> {
    const paid = event.data.object as Stripe.Invoice;
    const invoice = await manager.findOne(Invoice, { where: { stripeInvoiceId: paid.id as string }, lock: { mode: 'pessimistic_write' } });
    if (!invoice) return 'unknown invoice';
    if (invoice.status === 'paid') return 'already paid';
    await manager.update(Invoice, { id: invoice.id }, { status: 'paid', paidAt: new Date(event.created * 1000) });
    await this.ledger.post(manager, {
      kind: LEDGER_KINDS.invoicePaid,
      causeType: 'invoice',
      causeId: invoice.id,
      lines: invoicePaidLines({ advertiserId: invoice.advertiserId, currency: invoice.currency }, invoice.amount),
      memo: paid.id as string,
    });
    return 'receivable settled';
  }
}
