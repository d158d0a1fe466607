import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Two columns later features share (README, "Conversions"):
 * - `customer_id`: the advertiser's id of the paying customer (postback `customer_id`, API
 *   `customerId`), so a customer's later conversions can be found (recurring commissions, a
 *   customer converting for a second affiliate);
 * - `hold`: why a pending conversion waits for something other than its lock period (`review`:
 *   a person must decide; `awaiting_funds`: a prepaid advertiser's funds do not cover it). The
 *   lock-period job never approves a held conversion.
 * Both are nullable with no default, so adding them rewrites nothing. The index that finds a
 * customer's conversions comes in a migration of its own, built CONCURRENTLY.
 */
export class ConversionCustomersAndHolds1765800000000 implements MigrationInterface {
  name = 'ConversionCustomersAndHolds1765800000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`SET LOCAL lock_timeout = '5s'`);
    await q.query(`
      ALTER TABLE conversions
        ADD COLUMN customer_id text CONSTRAINT conversions_customer_id_length CHECK (char_length(customer_id) BETWEEN 1 AND 200),
        ADD COLUMN hold text CONSTRAINT conversions_hold_known CHECK (hold IN ('review', 'awaiting_funds'))`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE conversions DROP COLUMN hold, DROP COLUMN customer_id`);
  }
}
