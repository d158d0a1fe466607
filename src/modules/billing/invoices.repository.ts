import { EntityManager, SelectQueryBuilder } from 'typeorm';
import { updateReturning } from '../../database/sql';
import { CreditedInvoiceStatus, Invoice, InvoiceCredit, InvoiceFailure, InvoiceLine, InvoiceRun } from './billing.entities';

/**
 * Every query on `invoices`, `invoice_runs` and `invoice_credits` (the billing module owns its
 * tables: see ARCHITECTURE.md), hand-written SQL included; the run engine (common/runs) keeps its
 * generic run-row updates, and billing.checks.ts (a read model) its checks. Stateless, like
 * ConversionsRepository: each method runs on the caller's manager and transaction.
 */
export class InvoicesRepository {
  // -- invoice runs ------------------------------------------------------------

  /** A new queued run for the period and currency, unless a live one exists: then that one. Answers the run and whether it is new. */
  async startOrJoinRun(manager: EntityManager, from: Date, to: Date, currency: string | null, requestedBy: string): Promise<{ run: InvoiceRun; created: boolean }> {
    // Inserts the period's run or, in the same statement, joins the live one (a no-op update that
    // returns it), as a payout run request does: a separate look-up could miss a run that
    // completed in between.
    const [{ id, created }]: { id: string; created: boolean }[] = await manager.query(
      `INSERT INTO invoice_runs (period_from, period_to, currency, status, requested_by) VALUES ($1, $2, $3, 'queued', $4)
       ON CONFLICT (period_from, period_to, COALESCE(currency, '')) WHERE status IN ('queued', 'running') DO UPDATE SET period_from = EXCLUDED.period_from
       RETURNING id, (xmax = 0) AS created`,
      [from, to, currency, requestedBy],
    );
    return { run: await manager.findOneByOrFail(InvoiceRun, { id }), created };
  }

  /** Queued or running runs older than `seconds`, oldest first (the sweeper re-drives those whose job is gone). */
  async liveRunsOlderThan(manager: EntityManager, seconds: number, limit: number): Promise<string[]> {
    const rows: { id: string }[] = await manager.query(
      `SELECT id FROM invoice_runs WHERE status IN ('queued', 'running') AND created_at < now() - make_interval(secs => $1) ORDER BY created_at LIMIT $2`,
      [seconds, limit],
    );
    return rows.map((r) => r.id);
  }

  findRun(manager: EntityManager, id: string): Promise<InvoiceRun | null> {
    return manager.findOneBy(InvoiceRun, { id });
  }

  lockRun(manager: EntityManager, id: string): Promise<InvoiceRun | null> {
    return manager.findOne(InvoiceRun, { where: { id }, lock: { mode: 'pessimistic_write' } });
  }

  async markRunPlanned(manager: EntityManager, id: string, totalCount: number, totalAmount: number): Promise<void> {
    await manager.update(InvoiceRun, { id }, { plannedAt: new Date(), totalCount, totalAmount });
  }

  /** One more invoice of the run done; a failure, when given, is recorded with it. */
  async countRunDone(manager: EntityManager, runId: string, failure?: InvoiceFailure): Promise<void> {
    if (failure) await manager.query(`UPDATE invoice_runs SET done_count = done_count + 1, failures = failures || $2::jsonb WHERE id = $1`, [runId, JSON.stringify([failure])]);
    else await manager.query(`UPDATE invoice_runs SET done_count = done_count + 1 WHERE id = $1`, [runId]);
  }

  // -- invoices ----------------------------------------------------------------

  /** The run's drafts still to issue, in id order. */
  openInvoices(manager: EntityManager, runId: string): Promise<Invoice[]> {
    return manager.find(Invoice, { where: { runId, status: 'draft' }, order: { id: 'ASC' } });
  }

  /** Invoices for paginate under the alias `i`. */
  listQuery(manager: EntityManager): SelectQueryBuilder<Invoice> {
    return manager.getRepository(Invoice).createQueryBuilder('i');
  }

  getOrFail(manager: EntityManager, id: string): Promise<Invoice> {
    return manager.findOneByOrFail(Invoice, { id });
  }

  /**
   * A draft for the advertiser and currency, unless one is open in another run (the
   * `invoices_one_draft` index: this waits for it); answers whether it was written.
   */
  async insertDraft(manager: EntityManager, draft: { id: string; runId: string; advertiserId: string; currency: string; periodFrom: Date; periodTo: Date }): Promise<boolean> {
    const inserted = await manager.query(
      `INSERT INTO invoices (id, run_id, advertiser_id, currency, period_from, period_to, amount, conversions, status)
       VALUES ($1, $2, $3, $4, $5, $6, 1, 0, 'draft') ON CONFLICT (advertiser_id, currency) WHERE status = 'draft' DO NOTHING RETURNING id`,
      [draft.id, draft.runId, draft.advertiserId, draft.currency, draft.periodFrom, draft.periodTo],
    );
    return inserted.length > 0;
  }

  async deleteDraft(manager: EntityManager, id: string): Promise<void> {
    await manager.query(`DELETE FROM invoices WHERE id = $1`, [id]);
  }

  async setContents(manager: EntityManager, id: string, amount: number, conversions: number, lines: InvoiceLine[]): Promise<void> {
    await manager.update(Invoice, { id }, { amount, conversions, lines });
  }

  async setCustomer(manager: EntityManager, id: string, stripeCustomerId: string): Promise<void> {
    await manager.update(Invoice, { id }, { stripeCustomerId });
  }

  /** Records the Stripe draft of an invoice still a draft here. */
  async setStripeDraft(manager: EntityManager, id: string, stripeInvoiceId: string): Promise<void> {
    await manager.update(Invoice, { id, status: 'draft' }, { stripeInvoiceId });
  }

  async setStripeInvoice(manager: EntityManager, id: string, stripeInvoiceId: string): Promise<void> {
    await manager.update(Invoice, { id }, { stripeInvoiceId });
  }

  /** A draft that could not be issued: failed, with why; answers whether it was a draft. */
  async failDraft(manager: EntityManager, id: string, error: string): Promise<boolean> {
    const [failed] = await updateReturning(manager, `UPDATE invoices SET status = 'failed', error = $2, stripe_invoice_id = NULL WHERE id = $1 AND status = 'draft' RETURNING id`, [
      id,
      error,
    ]);
    return !!failed;
  }

  /** A draft issued: open, with its Stripe invoice; answers whether it was a draft. */
  async markIssued(manager: EntityManager, id: string, stripeInvoiceId: string, hostedInvoiceUrl: string | null): Promise<boolean> {
    const [updated] = await updateReturning(
      manager,
      `UPDATE invoices SET status = 'open', stripe_invoice_id = $2, hosted_invoice_url = $3, finalized_at = now() WHERE id = $1 AND status = 'draft' RETURNING id`,
      [id, stripeInvoiceId, hostedInvoiceUrl],
    );
    return !!updated;
  }

  async settle(manager: EntityManager, id: string, changes: Partial<Pick<Invoice, 'status' | 'paidAt' | 'amountPaid' | 'voidedAt' | 'writtenOff'>>): Promise<void> {
    await manager.update(Invoice, { id }, changes);
  }

  /** The Stripe customer an earlier invoice of the advertiser used, if any. */
  async knownCustomer(manager: EntityManager, advertiserId: string): Promise<string | null> {
    const [previous] = await manager.query(`SELECT stripe_customer_id FROM invoices WHERE advertiser_id = $1 AND stripe_customer_id IS NOT NULL LIMIT 1`, [advertiserId]);
    return previous?.stripe_customer_id ?? null;
  }

  /** The invoice a Stripe invoice is, locked: by Stripe's id or, failing that, by ours (`id`, from its metadata). */
  async lockByStripeInvoice(manager: EntityManager, stripeInvoiceId: string, id: string | null): Promise<Invoice | null> {
    const [row]: { id: string }[] = await manager.query(
      `SELECT id FROM invoices WHERE stripe_invoice_id = $1 OR id = $2::uuid ORDER BY (stripe_invoice_id = $1) DESC NULLS LAST LIMIT 1 FOR UPDATE`,
      [stripeInvoiceId, id],
    );
    return row ? manager.findOneByOrFail(Invoice, { id: row.id }) : null;
  }

  // -- credits -----------------------------------------------------------------

  /** What reversed results took off each invoice. */
  async creditedTotals(manager: EntityManager, invoiceIds: string[]): Promise<Map<string, number>> {
    const rows: { invoice_id: string; total: string }[] = await manager.query(
      `SELECT invoice_id, sum(amount)::text AS total FROM invoice_credits WHERE invoice_id = ANY($1::uuid[]) GROUP BY 1`,
      [invoiceIds],
    );
    return new Map(rows.map((r) => [r.invoice_id, Number(r.total)]));
  }

  /** What credits took off one invoice (those issued while it was `status`, or all). */
  async credited(manager: EntityManager, invoiceId: string, status?: CreditedInvoiceStatus): Promise<number> {
    const [row] = await manager.query(`SELECT COALESCE(sum(amount), 0)::text AS total FROM invoice_credits WHERE invoice_id = $1 AND ($2::text IS NULL OR invoice_status = $2)`, [
      invoiceId,
      status ?? null,
    ]);
    return Number(row.total);
  }

  /** Whether this reversed result (or clawed-back bonus award) is credited already. */
  isCredited(manager: EntityManager, cause: CreditCause): Promise<boolean> {
    return manager.existsBy(InvoiceCredit, cause.type === 'conversion' ? { conversionId: cause.id } : { bonusAwardId: cause.id });
  }

  /** Which of these conversions (or bonus awards) are credited already. */
  async creditedCauses(manager: EntityManager, type: CreditCause['type'], ids: string[]): Promise<Set<string>> {
    if (!ids.length) return new Set();
    const column = type === 'conversion' ? 'conversion_id' : 'bonus_award_id';
    const rows: { id: string }[] = await manager.query(`SELECT ${column} AS id FROM invoice_credits WHERE ${column} = ANY($1::uuid[])`, [ids]);
    return new Set(rows.map((r) => r.id));
  }

  /** Records a credit note (once per conversion or bonus award). */
  async addCredit(
    manager: EntityManager,
    credit: { invoiceId: string; cause: CreditCause; amount: number; currency: string; invoiceStatus: string; stripeCreditNoteId: string },
  ): Promise<void> {
    const column = credit.cause.type === 'conversion' ? 'conversion_id' : 'bonus_award_id';
    await manager.query(
      `INSERT INTO invoice_credits (invoice_id, ${column}, amount, currency, invoice_status, stripe_credit_note_id) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (${column}) DO NOTHING`,
      [credit.invoiceId, credit.cause.id, credit.amount, credit.currency, credit.invoiceStatus, credit.stripeCreditNoteId],
    );
  }
}

/** What a credit note takes off an invoice: a reversed result, or a bonus clawed back. */
export interface CreditCause {
  type: 'conversion' | 'bonus_award';
  id: string;
}

export const invoicesRepository = new InvoicesRepository();
