import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Traffic quality (README, "Traffic quality"):
 * - `risk_score` (0–100) and `risk_reasons` ([{code, detail}]) on clicks and conversions; a click's
 *   are decided when its batch is written, a conversion's at intake and completed by the quality
 *   job, which stamps `risk_checked_at`;
 * - the offer's `quality` policy: `{holdAbove, rejectAbove}` (60 and null);
 * - `conversion_appeals`: an affiliate's appeal of a held or rejected conversion, at most one open
 *   per conversion.
 * The new columns are nullable without a default (or a constant default), so nothing is rewritten.
 */
export class TrafficQuality1765860000000 implements MigrationInterface {
  name = 'TrafficQuality1765860000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`SET LOCAL lock_timeout = '5s'`);
    await q.query(`
      ALTER TABLE clicks
        ADD COLUMN risk_score smallint CONSTRAINT clicks_risk_score_range CHECK (risk_score BETWEEN 0 AND 100),
        ADD COLUMN risk_reasons jsonb`);
    await q.query(`
      ALTER TABLE conversions
        ADD COLUMN risk_score smallint CONSTRAINT conversions_risk_score_range CHECK (risk_score BETWEEN 0 AND 100),
        ADD COLUMN risk_reasons jsonb,
        ADD COLUMN risk_checked_at timestamptz`);
    await q.query(`ALTER TABLE offers ADD COLUMN quality jsonb NOT NULL DEFAULT '{"holdAbove": 60, "rejectAbove": null}'`);
    await q.query(`
      CREATE TABLE conversion_appeals (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        conversion_id uuid NOT NULL REFERENCES conversions(id),
        affiliate_id uuid NOT NULL REFERENCES principals(id),
        status text NOT NULL CHECK (status IN ('open', 'approved', 'rejected')),
        message text NOT NULL CHECK (char_length(message) BETWEEN 1 AND 2000),
        resolution text CHECK (char_length(resolution) <= 2000),
        resolved_by uuid REFERENCES principals(id),
        resolved_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE UNIQUE INDEX conversion_appeals_one_open ON conversion_appeals (conversion_id) WHERE status = 'open'`);
    await q.query(`CREATE INDEX conversion_appeals_conversion ON conversion_appeals (conversion_id, created_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE conversion_appeals`);
    await q.query(`ALTER TABLE offers DROP COLUMN quality`);
    await q.query(`ALTER TABLE conversions DROP COLUMN risk_checked_at, DROP COLUMN risk_reasons, DROP COLUMN risk_score`);
    await q.query(`ALTER TABLE clicks DROP COLUMN risk_reasons, DROP COLUMN risk_score`);
  }
}
