import { EntityManager } from 'typeorm';
import { updateReturning } from '../../database/sql';

/** An award an invoice bills, as its tagging statement returned it. */
export interface AwardTaggedRow {
  id: string;
  bonus_id: string;
  offer_id: string;
  name: string;
  amount: string;
}

const BILLABLE = `a.status = 'earned' AND a.invoice_id IS NULL AND a.created_at < $2`;

/**
 * The statements on `bonus_awards` that billing runs inside its own transactions (an earned
 * award is billed to the advertiser once, like a result). Stateless: each takes the caller's manager.
 */
export const bonusAwardsRepository = {
  /** The advertisers and currencies with earned bonuses not billed yet, earned before `periodTo` (`currency` null: all). */
  billableGroups(manager: EntityManager, currency: string | null, periodTo: Date): Promise<{ advertiser_id: string; currency: string }[]> {
    return manager.query(`SELECT DISTINCT a.advertiser_id, a.currency FROM bonus_awards a WHERE ${BILLABLE} AND ($1::char(3) IS NULL OR a.currency = $1) ORDER BY 1, 2`, [
      currency,
      periodTo,
    ]);
  },

  /** Tags an advertiser's billable awards in `currency` with the invoice, and answers exactly those it tagged. */
  async tagForInvoice(manager: EntityManager, invoice: { id: string; advertiserId: string; currency: string; periodTo: Date }): Promise<AwardTaggedRow[]> {
    const rows: AwardTaggedRow[] = await manager.query(
      `WITH locked AS (
         SELECT a.id FROM bonus_awards a WHERE a.advertiser_id = $3 AND a.currency = $4 AND ${BILLABLE} ORDER BY a.id FOR UPDATE),
       tagged AS (
         UPDATE bonus_awards a SET invoice_id = $1 FROM locked l WHERE a.id = l.id AND ${BILLABLE}
         RETURNING a.id, a.bonus_id, a.offer_id, a.amount)
       SELECT t.id, t.bonus_id, t.offer_id, b.name, t.amount::text AS amount FROM tagged t JOIN bonuses b ON b.id = t.bonus_id ORDER BY t.id`,
      [invoice.id, invoice.periodTo, invoice.advertiserId, invoice.currency],
    );
    return rows;
  },

  /** Releases an invoice's awards for the next run (the invoice failed or was voided). */
  async releaseFromInvoice(manager: EntityManager, invoiceId: string): Promise<number> {
    const rows = await updateReturning(manager, `UPDATE bonus_awards SET invoice_id = NULL WHERE invoice_id = $1 RETURNING id`, [invoiceId]);
    return rows.length;
  },

  /** The clawed-back awards an invoice billed. */
  async clawedBackOnInvoice(manager: EntityManager, invoiceId: string): Promise<string[]> {
    const rows: { id: string }[] = await manager.query(`SELECT id FROM bonus_awards WHERE invoice_id = $1 AND status = 'clawed_back' AND amount > 0 ORDER BY id`, [invoiceId]);
    return rows.map((r) => r.id);
  },

  /** An award as its credit note needs it (absent: no such award). */
  async creditRow(manager: EntityManager, awardId: string): Promise<{ id: string; status: string; invoice_id: string | null; amount: string; name: string } | undefined> {
    const [row] = await manager.query(
      `SELECT a.id, a.status, a.invoice_id, a.amount::text AS amount, b.name FROM bonus_awards a JOIN bonuses b ON b.id = a.bonus_id WHERE a.id = $1`,
      [awardId],
    );
    return row;
  },
};
