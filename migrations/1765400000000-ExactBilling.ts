import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Billing by approval time, one live draft per advertiser and currency, failed and
 * uncollectible invoices, what Stripe really collected, and the credit notes of reversed results.
 */
export class ExactBilling1765400000000 implements MigrationInterface {
  name = 'ExactBilling1765400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE invoices DROP CONSTRAINT invoices_status_check`);
    await q.query(`ALTER TABLE invoices ADD CONSTRAINT invoices_status_check CHECK (status IN ('draft', 'open', 'paid', 'void', 'uncollectible', 'failed'))`);
    await q.query(
      `ALTER TABLE invoices ADD COLUMN amount_paid bigint NOT NULL DEFAULT 0, ADD COLUMN written_off bigint NOT NULL DEFAULT 0, ADD COLUMN error text, ADD COLUMN voided_at timestamptz`,
    );
    // Two runs (overlapping periods, or one per currency beside one for all) never plan the same
    // advertiser and currency at once: the second one's draft waits for the first and then skips.
    await q.query(`CREATE UNIQUE INDEX invoices_one_draft ON invoices (advertiser_id, currency) WHERE status = 'draft'`);
    await q.query(`ALTER TABLE invoice_runs ADD COLUMN failures jsonb NOT NULL DEFAULT '[]'`);

    // Results are billed by the time they were approved, whenever they were recorded.
    await q.query(`DROP INDEX IF EXISTS conversions_billable`);
    await q.query(`CREATE INDEX conversions_billable ON conversions (approved_at, advertiser_id, currency) WHERE status IN ('approved', 'paid') AND invoice_id IS NULL`);
    await q.query(`CREATE INDEX conversions_invoice ON conversions (invoice_id) WHERE invoice_id IS NOT NULL`);

    await q.query(`
      CREATE TABLE invoice_credits (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        invoice_id uuid NOT NULL REFERENCES invoices(id),
        conversion_id uuid NOT NULL UNIQUE REFERENCES conversions(id),
        amount bigint NOT NULL CHECK (amount > 0),
        currency char(3) NOT NULL,
        -- what the invoice was when the credit was issued: open (less to pay), paid (refunded), uncollectible
        invoice_status text NOT NULL CHECK (invoice_status IN ('open', 'paid', 'uncollectible')),
        stripe_credit_note_id text UNIQUE,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX invoice_credits_invoice ON invoice_credits (invoice_id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS invoice_credits`);
    await q.query(`DROP INDEX IF EXISTS conversions_invoice`);
    await q.query(`DROP INDEX IF EXISTS conversions_billable`);
    await q.query(`CREATE INDEX conversions_billable ON conversions (advertiser_id, currency, created_at) WHERE status IN ('approved', 'paid') AND invoice_id IS NULL`);
    await q.query(`ALTER TABLE invoice_runs DROP COLUMN IF EXISTS failures`);
    await q.query(`DROP INDEX IF EXISTS invoices_one_draft`);
    await q.query(`ALTER TABLE invoices DROP COLUMN IF EXISTS amount_paid, DROP COLUMN IF EXISTS written_off, DROP COLUMN IF EXISTS error, DROP COLUMN IF EXISTS voided_at`);
    await q.query(`ALTER TABLE invoices DROP CONSTRAINT invoices_status_check`);
    await q.query(`ALTER TABLE invoices ADD CONSTRAINT invoices_status_check CHECK (status IN ('draft', 'open', 'paid', 'void'))`);
  }
}
