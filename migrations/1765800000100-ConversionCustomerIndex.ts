import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A customer's conversions per advertiser, oldest first (recurring commissions attribute a
 * customer's later conversions to the affiliate of the first). Built CONCURRENTLY, outside a
 * transaction, so a large conversions table keeps taking writes meanwhile; IF NOT EXISTS makes a
 * re-run after an interrupted build safe (drop an INVALID index left behind first).
 */
export class ConversionCustomerIndex1765800000100 implements MigrationInterface {
  name = 'ConversionCustomerIndex1765800000100';
  transaction = false;

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX CONCURRENTLY IF NOT EXISTS conversions_customer ON conversions (advertiser_id, customer_id, created_at) WHERE customer_id IS NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX CONCURRENTLY IF EXISTS conversions_customer`);
  }
}
