import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Provider-neutral payout columns (see ARCHITECTURE.md, "Payout rails"): each payout account and
 * payout names the rail that carries it (`stripe` for every existing row) and the rail's own ids
 * (`external_account_id`: the connected account; `external_id`: the transfer). The code reads
 * and writes only these.
 *
 * Expand/contract: this is the expand step. The Stripe columns stay, and a trigger keeps each pair
 * equal for Stripe rows whichever side is written, so a process still running the previous
 * release (or a hand-written fix-up) keeps working during the roll-out. A later migration (the
 * contract step, once nothing writes the old columns) drops the trigger and the Stripe columns.
 */
export class PayoutRails1765720000000 implements MigrationInterface {
  name = 'PayoutRails1765720000000';

  async up(q: QueryRunner): Promise<void> {
    for (const table of ['payout_accounts', 'payouts']) {
      await q.query(`ALTER TABLE ${table} ADD COLUMN rail text NOT NULL DEFAULT 'stripe', ADD COLUMN external_account_id text`);
      await q.query(`UPDATE ${table} SET external_account_id = stripe_account_id`);
      await q.query(`ALTER TABLE ${table} ALTER COLUMN external_account_id SET NOT NULL`);
      // Another rail's rows have no Stripe account.
      await q.query(`ALTER TABLE ${table} ALTER COLUMN stripe_account_id DROP NOT NULL`);
    }
    await q.query(`ALTER TABLE payouts ADD COLUMN external_id text`);
    await q.query(`UPDATE payouts SET external_id = stripe_transfer_id`);
    await q.query(`CREATE UNIQUE INDEX payout_accounts_rail_account ON payout_accounts (rail, external_account_id)`);
    await q.query(`CREATE UNIQUE INDEX payouts_rail_transfer ON payouts (rail, external_id)`);

    await q.query(`
      CREATE FUNCTION payout_rails_mirror() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE
        has_transfer boolean := TG_TABLE_NAME = 'payouts';
      BEGIN
        IF NEW.rail <> 'stripe' THEN RETURN NEW; END IF;
        IF TG_OP = 'INSERT' THEN
          NEW.external_account_id := coalesce(NEW.external_account_id, NEW.stripe_account_id);
          NEW.stripe_account_id := NEW.external_account_id;
          IF has_transfer THEN
            NEW.external_id := coalesce(NEW.external_id, NEW.stripe_transfer_id);
            NEW.stripe_transfer_id := NEW.external_id;
          END IF;
          RETURN NEW;
        END IF;
        IF NEW.external_account_id IS DISTINCT FROM OLD.external_account_id THEN NEW.stripe_account_id := NEW.external_account_id;
        ELSIF NEW.stripe_account_id IS DISTINCT FROM OLD.stripe_account_id THEN NEW.external_account_id := NEW.stripe_account_id;
        END IF;
        IF has_transfer THEN
          IF NEW.external_id IS DISTINCT FROM OLD.external_id THEN NEW.stripe_transfer_id := NEW.external_id;
          ELSIF NEW.stripe_transfer_id IS DISTINCT FROM OLD.stripe_transfer_id THEN NEW.external_id := NEW.stripe_transfer_id;
          END IF;
        END IF;
        RETURN NEW;
      END $$`);
    for (const table of ['payout_accounts', 'payouts']) {
      await q.query(`CREATE TRIGGER ${table}_rail_mirror BEFORE INSERT OR UPDATE ON ${table} FOR EACH ROW EXECUTE FUNCTION payout_rails_mirror()`);
    }
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of ['payout_accounts', 'payouts']) await q.query(`DROP TRIGGER IF EXISTS ${table}_rail_mirror ON ${table}`);
    await q.query(`DROP FUNCTION IF EXISTS payout_rails_mirror()`);
    await q.query(`DROP INDEX IF EXISTS payouts_rail_transfer`);
    await q.query(`DROP INDEX IF EXISTS payout_accounts_rail_account`);
    await q.query(`ALTER TABLE payouts DROP COLUMN external_id`);
    for (const table of ['payout_accounts', 'payouts']) {
      await q.query(`ALTER TABLE ${table} DROP COLUMN rail, DROP COLUMN external_account_id`);
      await q.query(`ALTER TABLE ${table} ALTER COLUMN stripe_account_id SET NOT NULL`);
    }
  }
}
