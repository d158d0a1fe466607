import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A prepaid advertiser's top-up may be paid through a Stripe invoice: it is `pending` (nothing in
 * the ledger) until Stripe reports the invoice paid, then `posted`. A recorded top-up is posted at once.
 */
export class FundingStripeInvoice1765900000000 implements MigrationInterface {
  name = 'FundingStripeInvoice1765900000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `ALTER TABLE advertiser_fundings
         ADD COLUMN status text NOT NULL DEFAULT 'posted' CHECK (status IN ('pending', 'posted')),
         ADD COLUMN stripe_invoice_id text UNIQUE,
         ADD COLUMN hosted_invoice_url text,
         ADD COLUMN posted_at timestamptz`,
    );
    await q.query(`UPDATE advertiser_fundings SET posted_at = created_at`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE advertiser_fundings DROP COLUMN status, DROP COLUMN stripe_invoice_id, DROP COLUMN hosted_invoice_url, DROP COLUMN posted_at`);
  }
}
