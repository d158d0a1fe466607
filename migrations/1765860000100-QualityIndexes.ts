import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The quality job's work list (conversions not checked yet, oldest first), the stats' held and
 * risk-rejected conversions, and a coupon's uses (a leaked code). Built CONCURRENTLY, outside a transaction, so the table keeps taking writes;
 * IF NOT EXISTS makes a re-run after an interrupted build safe (drop an INVALID index first).
 */
export class QualityIndexes1765860000100 implements MigrationInterface {
  name = 'QualityIndexes1765860000100';
  transaction = false;

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX CONCURRENTLY IF NOT EXISTS conversions_risk_unchecked ON conversions (created_at, id) WHERE risk_checked_at IS NULL`);
    await q.query(
      `CREATE INDEX CONCURRENTLY IF NOT EXISTS conversions_quality ON conversions (created_at)
        WHERE (status = 'pending' AND hold = 'review') OR (status = 'rejected' AND reason = 'risk')`,
    );
    await q.query(`CREATE INDEX CONCURRENTLY IF NOT EXISTS conversions_coupon ON conversions (coupon_id, created_at) WHERE coupon_id IS NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX CONCURRENTLY IF EXISTS conversions_coupon`);
    await q.query(`DROP INDEX CONCURRENTLY IF EXISTS conversions_quality`);
    await q.query(`DROP INDEX CONCURRENTLY IF EXISTS conversions_risk_unchecked`);
  }
}
