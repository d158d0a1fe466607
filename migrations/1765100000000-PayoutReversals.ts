import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Partial transfer reversals: what Stripe has reversed of a payout's transfer so far (the newly
 * reversed part of each `transfer.reversed` is what goes back to the balance), and a quick way to
 * the Stripe events kept waiting for an object we did not know yet.
 */
export class PayoutReversals1765100000000 implements MigrationInterface {
  name = 'PayoutReversals1765100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE payouts ADD COLUMN reversed_amount bigint NOT NULL DEFAULT 0 CHECK (reversed_amount >= 0 AND reversed_amount <= amount)`);
    await q.query(`CREATE INDEX stripe_events_unprocessed ON stripe_events (received_at) WHERE processed_at IS NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX stripe_events_unprocessed`);
    await q.query(`ALTER TABLE payouts DROP COLUMN reversed_amount`);
  }
}
