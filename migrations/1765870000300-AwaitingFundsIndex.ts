import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A prepaid advertiser's conversions waiting for funds, oldest first: a top-up covers them in
 * that order. Built CONCURRENTLY, outside a transaction, as the customer index is.
 */
export class AwaitingFundsIndex1765870000300 implements MigrationInterface {
  name = 'AwaitingFundsIndex1765870000300';
  transaction = false;

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE INDEX CONCURRENTLY IF NOT EXISTS conversions_awaiting_funds ON conversions (advertiser_id, currency, created_at, id) WHERE hold = 'awaiting_funds' AND status = 'pending'`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX CONCURRENTLY IF EXISTS conversions_awaiting_funds`);
  }
}
