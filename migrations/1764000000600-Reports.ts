import { MigrationInterface, QueryRunner } from 'typeorm';

const SUBS = `sub1 text NOT NULL, sub2 text NOT NULL, sub3 text NOT NULL, sub4 text NOT NULL, sub5 text NOT NULL`;
const CLICK_COUNTERS = `clicks bigint NOT NULL, unique_clicks bigint NOT NULL, blocked_clicks bigint NOT NULL`;
const CONVERSION_COUNTERS = `pending bigint NOT NULL, approved bigint NOT NULL, rejected bigint NOT NULL, reversed bigint NOT NULL,
        sale_amount bigint NOT NULL, revenue bigint NOT NULL, payout bigint NOT NULL`;

/**
 * Hourly rollups for GET /v1/reports/stats, kept at write time (see src/modules/reports/rollup-sql.ts).
 *
 * Each kind has a small table without sub ids or country (`*_hours`), which most reports read,
 * and a wide one with them (`*_details`), read only when a report groups by them: sub ids can
 * be as many as the clicks, and they must not slow down the common report. Missing values are
 * '' so keys are NULL-free; sub ids enter the wide key through `subs_key` (a digest), since five
 * sub ids of 255 characters could exceed a B-tree entry. The offer's currency and advertiser
 * are joined from `offers` when reading: both never change.
 *
 * Conversions change status in many concurrent transactions, so they append signed deltas
 * (no row lock to wait for), which a compactor folds into the rollups every few seconds; reports
 * read rollups + deltas. `report_conversion_keys` remembers the click-derived key of each
 * conversion so that later status changes land in the same group even if the click row
 * arrived after the conversion.
 *
 * Rollup rows are updated in place every flush: a lower fillfactor keeps those updates HOT.
 */
export class Reports1764000000600 implements MigrationInterface {
  name = 'Reports1764000000600';

  async up(q: QueryRunner): Promise<void> {
    // Filled from the IP when a batch of clicks is written (ISO 3166 alpha-2), NULL when unknown.
    await q.query(`ALTER TABLE clicks ADD COLUMN country text`);

    await q.query(`
      CREATE TABLE report_click_hours (
        hour timestamptz NOT NULL, offer_id uuid NOT NULL, affiliate_id uuid NOT NULL, channel text NOT NULL,
        ${CLICK_COUNTERS},
        PRIMARY KEY (hour, offer_id, affiliate_id, channel)
      ) WITH (fillfactor = 80)`);
    await q.query(`
      CREATE TABLE report_click_details (
        hour timestamptz NOT NULL, offer_id uuid NOT NULL, affiliate_id uuid NOT NULL, channel text NOT NULL,
        country text NOT NULL, ${SUBS}, subs_key uuid NOT NULL,
        ${CLICK_COUNTERS},
        PRIMARY KEY (hour, offer_id, affiliate_id, channel, country, subs_key)
      ) WITH (fillfactor = 80)`);
    await q.query(`
      CREATE TABLE report_conversion_hours (
        hour timestamptz NOT NULL, offer_id uuid NOT NULL, affiliate_id uuid NOT NULL, channel text NOT NULL,
        goal text NOT NULL, currency text NOT NULL,
        ${CONVERSION_COUNTERS},
        PRIMARY KEY (hour, offer_id, affiliate_id, channel, goal, currency)
      ) WITH (fillfactor = 80)`);
    await q.query(`
      CREATE TABLE report_conversion_details (
        hour timestamptz NOT NULL, offer_id uuid NOT NULL, affiliate_id uuid NOT NULL, channel text NOT NULL,
        goal text NOT NULL, currency text NOT NULL, country text NOT NULL, ${SUBS}, subs_key uuid NOT NULL,
        ${CONVERSION_COUNTERS},
        PRIMARY KEY (hour, offer_id, affiliate_id, channel, goal, currency, country, subs_key)
      ) WITH (fillfactor = 80)`);
    // Scoped reports: an affiliate's own rows, an advertiser's offers, one offer.
    for (const table of ['report_click_hours', 'report_click_details', 'report_conversion_hours', 'report_conversion_details']) {
      await q.query(`CREATE INDEX ${table}_offer ON ${table} (offer_id, hour)`);
      await q.query(`CREATE INDEX ${table}_affiliate ON ${table} (affiliate_id, hour)`);
    }

    await q.query(`
      CREATE TABLE report_conversion_deltas (
        id bigserial PRIMARY KEY,
        hour timestamptz NOT NULL, offer_id uuid NOT NULL, affiliate_id uuid NOT NULL, channel text NOT NULL,
        goal text NOT NULL, currency text NOT NULL, country text NOT NULL, ${SUBS},
        ${CONVERSION_COUNTERS}
      )`);
    // No foreign key: conversions are never deleted, and the check would cost every postback.
    await q.query(`
      CREATE TABLE report_conversion_keys (
        conversion_id uuid PRIMARY KEY,
        channel text NOT NULL, country text NOT NULL, ${SUBS}
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of [
      'report_conversion_keys',
      'report_conversion_deltas',
      'report_conversion_details',
      'report_conversion_hours',
      'report_click_details',
      'report_click_hours',
    ]) {
      await q.query(`DROP TABLE IF EXISTS ${table}`);
    }
    await q.query(`ALTER TABLE clicks DROP COLUMN IF EXISTS country`);
  }
}
