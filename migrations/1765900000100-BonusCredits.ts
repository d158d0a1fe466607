import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A bonus clawed back after its invoice was issued is credited on that invoice, as a reversed
 * result is: a credit names either the conversion or the bonus award, once each.
 */
export class BonusCredits1765900000100 implements MigrationInterface {
  name = 'BonusCredits1765900000100';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `ALTER TABLE invoice_credits
         ALTER COLUMN conversion_id DROP NOT NULL,
         ADD COLUMN bonus_award_id uuid UNIQUE REFERENCES bonus_awards(id),
         ADD CONSTRAINT invoice_credits_one_cause CHECK ((conversion_id IS NULL) <> (bonus_award_id IS NULL))`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DELETE FROM invoice_credits WHERE bonus_award_id IS NOT NULL`);
    await q.query(`ALTER TABLE invoice_credits DROP CONSTRAINT invoice_credits_one_cause, DROP COLUMN bonus_award_id, ALTER COLUMN conversion_id SET NOT NULL`);
  }
}
