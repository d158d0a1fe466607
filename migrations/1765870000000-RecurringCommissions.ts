import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Recurring commissions (README, "Commission programs"): a goal may say `recurring: {months}`
 * (`months` null: for life), and a conversion may be `attributed_by = 'customer'` (credited to the
 * affiliate of its customer's first conversion on the offer). The new CHECK is added NOT VALID and
 * validated in its own statement, so the conversions table is not locked while it is scanned.
 */
export class RecurringCommissions1765870000000 implements MigrationInterface {
  name = 'RecurringCommissions1765870000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`SET LOCAL lock_timeout = '5s'`);
    await q.query(`
      ALTER TABLE offer_goals ADD COLUMN recurring jsonb
        CONSTRAINT offer_goals_recurring_shape CHECK (
          recurring IS NULL OR (jsonb_typeof(recurring) = 'object' AND jsonb_typeof(recurring -> 'months') IN ('number', 'null')))`);
    await q.query(`ALTER TABLE conversions DROP CONSTRAINT conversions_attributed_by_check`);
    await q.query(`ALTER TABLE conversions ADD CONSTRAINT conversions_attributed_by_check CHECK (attributed_by IN ('click', 'coupon', 'customer')) NOT VALID`);
    await q.query(`ALTER TABLE conversions VALIDATE CONSTRAINT conversions_attributed_by_check`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE conversions DROP CONSTRAINT conversions_attributed_by_check`);
    await q.query(`ALTER TABLE conversions ADD CONSTRAINT conversions_attributed_by_check CHECK (attributed_by IN ('click', 'coupon')) NOT VALID`);
    await q.query(`ALTER TABLE offer_goals DROP COLUMN recurring`);
  }
}
