import { MigrationInterface, QueryRunner } from 'typeorm';

const SUB_IDS = ['sub1', 'sub2', 'sub3', 'sub4', 'sub5'];

/**
 * Conversion intake:
 * - offers get a `timezone` (IANA, caps count its days and months) and `pixel_amounts` (whether
 *   the unauthenticated pixel's amount counts);
 * - conversions get `occurred_at`, the time the advertiser reported (null: when received);
 * - the pixel gets a txn id space of its own, so it can never claim or block a txn id of an
 *   authenticated postback or API call (which then supersedes it);
 * - clicks that were not allowed (blocked) leave the clicks and unique_clicks of the report
 *   rollups; they stay counted in blocked_clicks.
 */
export class IntakeHardening1765200000000 implements MigrationInterface {
  name = 'IntakeHardening1765200000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE offers ADD COLUMN timezone text NOT NULL DEFAULT 'UTC', ADD COLUMN pixel_amounts boolean NOT NULL DEFAULT false`);
    await q.query(`ALTER TABLE conversions ADD COLUMN occurred_at timestamptz`);
    await q.query(`ALTER TABLE conversions DROP CONSTRAINT conversions_idempotency`);
    await q.query(`CREATE UNIQUE INDEX conversions_idempotency ON conversions (advertiser_id, goal_key, txn_id) WHERE source <> 'pixel'`);
    await q.query(`CREATE UNIQUE INDEX conversions_pixel_idempotency ON conversions (advertiser_id, goal_key, txn_id) WHERE source = 'pixel'`);

    // Blocked clicks that were counted unique, per rollup group, taken out of unique_clicks; then clicks.
    const blocked = (keys: string[]) => `SELECT ${keys.join(', ')}, count(*)::int AS n FROM (
        SELECT date_trunc('hour', clicked_at, 'UTC') AS hour, offer_id, affiliate_id, channel, coalesce(country, '') AS country,
               ${SUB_IDS.map((s) => `coalesce(${s}, '') AS ${s}`).join(', ')}
          FROM clicks WHERE status <> 'ok' AND is_unique) k
      GROUP BY ${keys.join(', ')}`;
    const hourKeys = ['hour', 'offer_id', 'affiliate_id', 'channel'];
    const detailKeys = [...hourKeys, 'country', ...SUB_IDS];
    for (const [table, keys] of [
      ['report_click_hours', hourKeys],
      ['report_click_details', detailKeys],
    ] as const) {
      await q.query(`UPDATE ${table} r SET unique_clicks = r.unique_clicks - b.n FROM (${blocked([...keys])}) b WHERE ${keys.map((k) => `r.${k} = b.${k}`).join(' AND ')}`);
      await q.query(`UPDATE ${table} SET clicks = clicks - blocked_clicks WHERE blocked_clicks > 0`);
    }
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of ['report_click_hours', 'report_click_details']) {
      await q.query(`UPDATE ${table} SET clicks = clicks + blocked_clicks WHERE blocked_clicks > 0`);
    }
    await q.query(`DROP INDEX conversions_pixel_idempotency`);
    await q.query(`DROP INDEX conversions_idempotency`);
    await q.query(`ALTER TABLE conversions ADD CONSTRAINT conversions_idempotency UNIQUE (advertiser_id, goal_key, txn_id)`);
    await q.query(`ALTER TABLE conversions DROP COLUMN occurred_at`);
    await q.query(`ALTER TABLE offers DROP COLUMN timezone, DROP COLUMN pixel_amounts`);
  }
}
