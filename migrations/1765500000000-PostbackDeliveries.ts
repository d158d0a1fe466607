import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Outgoing postbacks in order and once: the state of each conversion event's postback
 * (claimed and being sent, delivered, failed, superseded by a newer status), and why each
 * attempt in the log ended as it did.
 */
export class PostbackDeliveries1765500000000 implements MigrationInterface {
  name = 'PostbackDeliveries1765500000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE postback_deliveries (
        event_id bigint PRIMARY KEY REFERENCES conversion_events(id),
        conversion_id uuid NOT NULL REFERENCES conversions(id),
        state text NOT NULL CHECK (state IN ('sending', 'delivered', 'failed', 'superseded')),
        claimed_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX postback_deliveries_conversion ON postback_deliveries (conversion_id, event_id)`);
    // Postbacks delivered before this table existed are delivered: a job run again must not resend them.
    await q.query(`
      INSERT INTO postback_deliveries (event_id, conversion_id, state, claimed_at, updated_at)
      SELECT event_id, conversion_id, 'delivered', min(created_at), min(created_at) FROM postback_attempts
       WHERE event_id IS NOT NULL AND conversion_id IS NOT NULL AND error IS NULL AND NOT is_test
       GROUP BY event_id, conversion_id
      ON CONFLICT (event_id) DO NOTHING`);

    await q.query(`ALTER TABLE postback_attempts ADD COLUMN outcome text`);
    await q.query(`UPDATE postback_attempts SET outcome = CASE WHEN error IS NULL THEN 'delivered' ELSE 'failed' END`);
    await q.query(`ALTER TABLE postback_attempts ALTER COLUMN outcome SET NOT NULL`);
    await q.query(
      `ALTER TABLE postback_attempts ADD CONSTRAINT postback_attempts_outcome CHECK (outcome IN ('delivered', 'failed', 'superseded', 'already_delivered', 'deferred'))`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE postback_attempts DROP COLUMN IF EXISTS outcome`);
    await q.query(`DROP TABLE IF EXISTS postback_deliveries`);
  }
}
