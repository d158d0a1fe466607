import { MigrationInterface, QueryRunner } from 'typeorm';

/** Stripe events, affiliates' connected accounts, payout runs and payouts, invoice runs and advertiser invoices. */
export class Payouts1764000000500 implements MigrationInterface {
  name = 'Payouts1764000000500';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE stripe_events (
        id text PRIMARY KEY,
        type text NOT NULL,
        payload jsonb NOT NULL,
        stripe_created_at timestamptz NOT NULL,
        received_at timestamptz NOT NULL DEFAULT now(),
        processed_at timestamptz,
        outcome text
      )`);

    await q.query(`
      CREATE TABLE payout_accounts (
        affiliate_id uuid PRIMARY KEY REFERENCES principals(id),
        stripe_account_id text NOT NULL UNIQUE,
        payouts_enabled boolean NOT NULL DEFAULT false,
        details_submitted boolean NOT NULL DEFAULT false,
        -- Stripe's own time of the newest event applied: an older event never undoes a newer state.
        last_event_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);

    await q.query(`
      CREATE TABLE payout_runs (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        currency char(3) NOT NULL,
        dry_run boolean NOT NULL DEFAULT false,
        status text NOT NULL CHECK (status IN ('queued', 'running', 'completed', 'failed')),
        requested_by uuid REFERENCES principals(id),
        total_count int NOT NULL DEFAULT 0,
        done_count int NOT NULL DEFAULT 0,
        failed_count int NOT NULL DEFAULT 0,
        total_amount bigint NOT NULL DEFAULT 0,
        done_amount bigint NOT NULL DEFAULT 0,
        planned_at timestamptz,
        preview jsonb,
        error text,
        created_at timestamptz NOT NULL DEFAULT now(),
        started_at timestamptz,
        finished_at timestamptz
      )`);
    // At most one live run per currency: concurrent requests meet on this index and share the run.
    await q.query(`CREATE UNIQUE INDEX payout_runs_one_live ON payout_runs (currency) WHERE status IN ('queued', 'running') AND NOT dry_run`);
    await q.query(`CREATE INDEX payout_runs_created ON payout_runs (created_at DESC, id DESC)`);

    await q.query(`
      CREATE TABLE payouts (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        run_id uuid NOT NULL REFERENCES payout_runs(id),
        affiliate_id uuid NOT NULL REFERENCES principals(id),
        currency char(3) NOT NULL,
        amount bigint NOT NULL CHECK (amount > 0),
        clawback_netted bigint NOT NULL DEFAULT 0 CHECK (clawback_netted >= 0),
        status text NOT NULL CHECK (status IN ('pending', 'transferring', 'paid', 'failed')),
        stripe_account_id text NOT NULL,
        stripe_transfer_id text UNIQUE,
        attempts int NOT NULL DEFAULT 0,
        failure_code text,
        failure_message text,
        created_at timestamptz NOT NULL DEFAULT now(),
        paid_at timestamptz,
        failed_at timestamptz,
        UNIQUE (run_id, affiliate_id)
      )`);
    await q.query(`CREATE INDEX payouts_run_status ON payouts (run_id, status)`);
    await q.query(`CREATE INDEX payouts_affiliate ON payouts (affiliate_id, created_at DESC)`);
    await q.query(`CREATE INDEX payouts_created ON payouts (created_at DESC, id DESC)`);

    await q.query(`
      CREATE TABLE invoice_runs (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        period_from timestamptz NOT NULL,
        period_to timestamptz NOT NULL CHECK (period_to > period_from),
        currency char(3),
        status text NOT NULL CHECK (status IN ('queued', 'running', 'completed', 'failed')),
        requested_by uuid REFERENCES principals(id),
        total_count int NOT NULL DEFAULT 0,
        done_count int NOT NULL DEFAULT 0,
        total_amount bigint NOT NULL DEFAULT 0,
        planned_at timestamptz,
        error text,
        created_at timestamptz NOT NULL DEFAULT now(),
        finished_at timestamptz
      )`);
    await q.query(`CREATE UNIQUE INDEX invoice_runs_one_live ON invoice_runs (period_from, period_to, COALESCE(currency, '')) WHERE status IN ('queued', 'running')`);

    await q.query(`
      CREATE TABLE invoices (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        run_id uuid NOT NULL REFERENCES invoice_runs(id),
        advertiser_id uuid NOT NULL REFERENCES principals(id),
        currency char(3) NOT NULL,
        period_from timestamptz NOT NULL,
        period_to timestamptz NOT NULL,
        amount bigint NOT NULL CHECK (amount > 0),
        conversions int NOT NULL,
        status text NOT NULL CHECK (status IN ('draft', 'open', 'paid', 'void')),
        stripe_customer_id text,
        stripe_invoice_id text UNIQUE,
        hosted_invoice_url text,
        lines jsonb NOT NULL DEFAULT '[]',
        created_at timestamptz NOT NULL DEFAULT now(),
        finalized_at timestamptz,
        paid_at timestamptz
      )`);
    await q.query(`CREATE INDEX invoices_advertiser ON invoices (advertiser_id, created_at DESC)`);
    await q.query(`CREATE INDEX invoices_created ON invoices (created_at DESC, id DESC)`);

    await q.query(`ALTER TABLE conversions ADD COLUMN payout_id uuid REFERENCES payouts(id), ADD COLUMN invoice_id uuid REFERENCES invoices(id)`);
    await q.query(`CREATE INDEX conversions_payable ON conversions (affiliate_id, currency) WHERE status = 'approved' AND payout_id IS NULL`);
    await q.query(`CREATE INDEX conversions_billable ON conversions (advertiser_id, currency, created_at) WHERE status IN ('approved', 'paid') AND invoice_id IS NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE conversions DROP COLUMN IF EXISTS invoice_id, DROP COLUMN IF EXISTS payout_id`);
    for (const table of ['invoices', 'invoice_runs', 'payouts', 'payout_runs', 'payout_accounts', 'stripe_events']) await q.query(`DROP TABLE IF EXISTS ${table}`);
  }
}
