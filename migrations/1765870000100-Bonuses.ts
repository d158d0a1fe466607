import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Bonuses (README, "Commission programs"): an offer's bonus programs (`bonuses`) and what each
 * affiliate earned of them, once per period (`bonus_awards`, unique per bonus, affiliate and
 * period). An award's ledger entries are caused by it: `journal_entries.cause_type` gains
 * `bonus_award`. An earned award is billed once (`invoice_id`), like a result.
 */
export class Bonuses1765870000100 implements MigrationInterface {
  name = 'Bonuses1765870000100';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`SET LOCAL lock_timeout = '5s'`);
    await q.query(`
      CREATE TABLE bonuses (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        offer_id uuid NOT NULL REFERENCES offers(id),
        advertiser_id uuid NOT NULL REFERENCES principals(id),
        name text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
        goal_key text,
        metric text NOT NULL CHECK (metric IN ('conversions', 'saleAmount')),
        threshold bigint NOT NULL CHECK (threshold > 0),
        period text NOT NULL CHECK (period IN ('month', 'all_time')),
        amount bigint NOT NULL CHECK (amount > 0),
        currency char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
        created_by uuid REFERENCES principals(id),
        created_at timestamptz(3) NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX bonuses_offer ON bonuses (offer_id, created_at)`);
    await q.query(`
      CREATE TABLE bonus_awards (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        bonus_id uuid NOT NULL REFERENCES bonuses(id),
        affiliate_id uuid NOT NULL REFERENCES principals(id),
        advertiser_id uuid NOT NULL REFERENCES principals(id),
        offer_id uuid NOT NULL REFERENCES offers(id),
        period text NOT NULL CHECK (period ~ '^([0-9]{4}-[0-9]{2}|all_time)$'),
        amount bigint NOT NULL CHECK (amount > 0),
        currency char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
        status text NOT NULL CHECK (status IN ('earned', 'clawed_back')),
        invoice_id uuid REFERENCES invoices(id),
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        clawed_back_at timestamptz(3),
        CONSTRAINT bonus_awards_once UNIQUE (bonus_id, affiliate_id, period)
      )`);
    await q.query(`CREATE INDEX bonus_awards_affiliate ON bonus_awards (affiliate_id, created_at DESC)`);
    await q.query(`CREATE INDEX bonus_awards_advertiser ON bonus_awards (advertiser_id, created_at DESC)`);
    await q.query(`CREATE INDEX bonus_awards_billable ON bonus_awards (advertiser_id, currency) WHERE status = 'earned' AND invoice_id IS NULL`);
    await q.query(`CREATE INDEX bonus_awards_invoice ON bonus_awards (invoice_id) WHERE invoice_id IS NOT NULL`);
    await q.query(`ALTER TABLE journal_entries DROP CONSTRAINT journal_entries_cause_type_check`);
    await q.query(`
      ALTER TABLE journal_entries ADD CONSTRAINT journal_entries_cause_type_check
        CHECK (cause_type IN ('conversion', 'payout', 'invoice', 'adjustment', 'bonus_award')) NOT VALID`);
    await q.query(`ALTER TABLE journal_entries VALIDATE CONSTRAINT journal_entries_cause_type_check`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE journal_entries DROP CONSTRAINT journal_entries_cause_type_check`);
    await q.query(`ALTER TABLE journal_entries ADD CONSTRAINT journal_entries_cause_type_check CHECK (cause_type IN ('conversion', 'payout', 'invoice', 'adjustment')) NOT VALID`);
    await q.query(`DROP TABLE bonus_awards`);
    await q.query(`DROP TABLE bonuses`);
  }
}
