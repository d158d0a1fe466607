import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Prepaid advertisers (README, "Commission programs"):
 * - `principals.billing_mode` ('invoice' | 'prepaid') and `low_balance_alert` (minor units);
 * - `conversions.prepaid`: recorded for a prepaid advertiser (paid from its funds, never invoiced);
 * - `offers.paused_reason` ('funds': paused by the funding balance, resumed by a top-up);
 * - ledger accounts `advertiser_funds` (what a prepaid advertiser may still spend, credit-normal,
 *   never overdrawn: a CHECK like affiliate_available's), `advertiser_reserved` (revenue of its
 *   recorded conversions set aside) and the network's `funding_clearing` (top-ups received);
 *   entries caused by a `funding` (top-up);
 * - `advertiser_fundings` (the top-ups finance records) and `funding_alerts` (a low-balance alert
 *   sent, per advertiser and currency, until the balance recovers).
 * Every new column is nullable or has a constant default, so nothing is rewritten.
 */
export class PrepaidFunding1765870000200 implements MigrationInterface {
  name = 'PrepaidFunding1765870000200';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`SET LOCAL lock_timeout = '5s'`);
    await q.query(`
      ALTER TABLE principals
        ADD COLUMN billing_mode text NOT NULL DEFAULT 'invoice' CONSTRAINT principals_billing_mode_known CHECK (billing_mode IN ('invoice', 'prepaid')),
        ADD COLUMN low_balance_alert bigint CONSTRAINT principals_low_balance_alert_positive CHECK (low_balance_alert >= 0)`);
    await q.query(`ALTER TABLE conversions ADD COLUMN prepaid boolean NOT NULL DEFAULT false`);
    await q.query(`ALTER TABLE offers ADD COLUMN paused_reason text CONSTRAINT offers_paused_reason_known CHECK (paused_reason IN ('funds'))`);
    await q.query(`ALTER TABLE ledger_accounts DROP CONSTRAINT ledger_accounts_type_check`);
    await q.query(`
      ALTER TABLE ledger_accounts ADD CONSTRAINT ledger_accounts_type_check
        CHECK (type IN ('affiliate_pending', 'affiliate_available', 'affiliate_clawback', 'advertiser_receivable',
                        'advertiser_funds', 'advertiser_reserved', 'network_margin', 'stripe_clearing', 'network_adjustments', 'funding_clearing')) NOT VALID`);
    await q.query(`ALTER TABLE ledger_accounts DROP CONSTRAINT ledger_accounts_owner_matches_type`);
    await q.query(`
      ALTER TABLE ledger_accounts ADD CONSTRAINT ledger_accounts_owner_matches_type
        CHECK ((type IN ('network_margin', 'stripe_clearing', 'network_adjustments', 'funding_clearing')) = (owner_id IS NULL)) NOT VALID`);
    await q.query(`ALTER TABLE ledger_accounts ADD CONSTRAINT ledger_accounts_funds_not_overdrawn CHECK (type <> 'advertiser_funds' OR balance <= 0) NOT VALID`);
    for (const c of ['ledger_accounts_type_check', 'ledger_accounts_owner_matches_type', 'ledger_accounts_funds_not_overdrawn']) {
      await q.query(`ALTER TABLE ledger_accounts VALIDATE CONSTRAINT ${c}`);
    }
    await q.query(`ALTER TABLE journal_entries DROP CONSTRAINT journal_entries_cause_type_check`);
    await q.query(`
      ALTER TABLE journal_entries ADD CONSTRAINT journal_entries_cause_type_check
        CHECK (cause_type IN ('conversion', 'payout', 'invoice', 'adjustment', 'bonus_award', 'funding')) NOT VALID`);
    await q.query(`ALTER TABLE journal_entries VALIDATE CONSTRAINT journal_entries_cause_type_check`);
    await q.query(`
      CREATE TABLE advertiser_fundings (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        advertiser_id uuid NOT NULL REFERENCES principals(id),
        amount bigint NOT NULL CHECK (amount > 0),
        currency char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
        reference text NOT NULL CHECK (char_length(reference) BETWEEN 1 AND 200),
        created_by uuid REFERENCES principals(id),
        created_at timestamptz(3) NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX advertiser_fundings_advertiser ON advertiser_fundings (advertiser_id, created_at DESC)`);
    await q.query(`
      CREATE TABLE funding_alerts (
        advertiser_id uuid NOT NULL REFERENCES principals(id),
        currency char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
        available bigint NOT NULL,
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        PRIMARY KEY (advertiser_id, currency)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE funding_alerts`);
    await q.query(`DROP TABLE advertiser_fundings`);
    await q.query(`ALTER TABLE journal_entries DROP CONSTRAINT journal_entries_cause_type_check`);
    await q.query(
      `ALTER TABLE journal_entries ADD CONSTRAINT journal_entries_cause_type_check CHECK (cause_type IN ('conversion', 'payout', 'invoice', 'adjustment', 'bonus_award')) NOT VALID`,
    );
    await q.query(`ALTER TABLE ledger_accounts DROP CONSTRAINT ledger_accounts_funds_not_overdrawn`);
    await q.query(`ALTER TABLE ledger_accounts DROP CONSTRAINT ledger_accounts_owner_matches_type`);
    await q.query(
      `ALTER TABLE ledger_accounts ADD CONSTRAINT ledger_accounts_owner_matches_type CHECK ((type IN ('network_margin', 'stripe_clearing', 'network_adjustments')) = (owner_id IS NULL)) NOT VALID`,
    );
    await q.query(`ALTER TABLE ledger_accounts DROP CONSTRAINT ledger_accounts_type_check`);
    await q.query(`
      ALTER TABLE ledger_accounts ADD CONSTRAINT ledger_accounts_type_check
        CHECK (type IN ('affiliate_pending', 'affiliate_available', 'affiliate_clawback', 'advertiser_receivable', 'network_margin', 'stripe_clearing', 'network_adjustments')) NOT VALID`);
    await q.query(`ALTER TABLE offers DROP COLUMN paused_reason`);
    await q.query(`ALTER TABLE conversions DROP COLUMN prepaid`);
    await q.query(`ALTER TABLE principals DROP COLUMN low_balance_alert, DROP COLUMN billing_mode`);
  }
}
