import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The database refuses what the ledger must never show: an affiliate's available balance below
 * zero (balance is debit positive and available is credit-normal, so it must stay ≤ 0; money an
 * affiliate owes lands on affiliate_clawback instead). Also a network account for finance's
 * manual adjustments, and the adjustments themselves.
 */
export class LedgerGuards1765300000000 implements MigrationInterface {
  name = 'LedgerGuards1765300000000';

  async up(q: QueryRunner): Promise<void> {
    // NOT VALID first: a database that already holds a breach still migrates (ledger:verify names
    // the breach); every balance that moves from now on is checked.
    await q.query(`
      ALTER TABLE ledger_accounts ADD CONSTRAINT ledger_accounts_available_not_negative
        CHECK (type <> 'affiliate_available' OR balance <= 0) NOT VALID`);
    await q.query(`
      DO $$ BEGIN
        ALTER TABLE ledger_accounts VALIDATE CONSTRAINT ledger_accounts_available_not_negative;
      EXCEPTION WHEN check_violation THEN
        RAISE WARNING 'an affiliate_available balance is negative; run npm run ledger:verify';
      END $$`);

    await q.query(`ALTER TABLE ledger_accounts DROP CONSTRAINT ledger_accounts_type_check`);
    await q.query(`
      ALTER TABLE ledger_accounts ADD CONSTRAINT ledger_accounts_type_check
        CHECK (type IN ('affiliate_pending', 'affiliate_available', 'affiliate_clawback',
                        'advertiser_receivable', 'network_margin', 'stripe_clearing', 'network_adjustments'))`);
    await q.query(`ALTER TABLE ledger_accounts DROP CONSTRAINT ledger_accounts_owner_matches_type`);
    await q.query(`
      ALTER TABLE ledger_accounts ADD CONSTRAINT ledger_accounts_owner_matches_type
        CHECK ((type IN ('network_margin', 'stripe_clearing', 'network_adjustments')) = (owner_id IS NULL))`);

    await q.query(`
      CREATE TABLE adjustments (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        affiliate_id uuid NOT NULL REFERENCES principals(id),
        currency char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
        amount bigint NOT NULL CHECK (amount <> 0),
        -- What reached the affiliate's available balance and what became a clawback (a debit beyond available).
        clawback bigint NOT NULL DEFAULT 0 CHECK (clawback >= 0),
        reason text NOT NULL CHECK (length(reason) BETWEEN 1 AND 500),
        idempotency_key text CHECK (length(idempotency_key) BETWEEN 1 AND 255),
        request_hash text,
        created_by uuid NOT NULL REFERENCES principals(id),
        created_at timestamptz(3) NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE UNIQUE INDEX adjustments_idempotency ON adjustments (created_by, idempotency_key) WHERE idempotency_key IS NOT NULL`);
    await q.query(`CREATE INDEX adjustments_affiliate ON adjustments (affiliate_id, created_at DESC, id DESC)`);
    await q.query(`CREATE INDEX adjustments_created ON adjustments (created_at DESC, id DESC)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS adjustments`);
    await q.query(`ALTER TABLE ledger_accounts DROP CONSTRAINT IF EXISTS ledger_accounts_available_not_negative`);
  }
}
