import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * An outbox row the relay cannot hand over (unknown topic, a route that throws) is parked with
 * its error instead of blocking every row behind it; relayed rows are pruned after a retention.
 */
export class OutboxParking1765300000100 implements MigrationInterface {
  name = 'OutboxParking1765300000100';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE outbox ADD COLUMN parked_at timestamptz, ADD COLUMN error text`);
    // The relay reads unrelayed, unparked rows; the index follows.
    await q.query(`DROP INDEX IF EXISTS outbox_pending`);
    await q.query(`CREATE INDEX outbox_pending ON outbox (id) WHERE relayed_at IS NULL AND parked_at IS NULL`);
    await q.query(`CREATE INDEX outbox_parked ON outbox (id) WHERE parked_at IS NOT NULL`);
    await q.query(`CREATE INDEX outbox_relayed ON outbox (relayed_at) WHERE relayed_at IS NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS outbox_relayed`);
    await q.query(`DROP INDEX IF EXISTS outbox_parked`);
    await q.query(`DROP INDEX IF EXISTS outbox_pending`);
    await q.query(`ALTER TABLE outbox DROP COLUMN parked_at, DROP COLUMN error`);
    await q.query(`CREATE INDEX outbox_pending ON outbox (id) WHERE relayed_at IS NULL`);
  }
}
