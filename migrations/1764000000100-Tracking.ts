import { MigrationInterface, QueryRunner } from 'typeorm';

const CHANNELS = `'email', 'seo', 'sem', 'social', 'native', 'display', 'mobile', 'remarketing', 'marketplace', 'other'`;
const SUB_COLUMNS = [1, 2, 3, 4, 5].map((i) => `sub${i} text CHECK (char_length(sub${i}) <= 255)`).join(',\n        ');

/**
 * Tracking links, clicks and coupon codes.
 *
 * `clicks` is range-partitioned by day on clicked_at, with a DEFAULT partition so that no click
 * is ever refused; ClickPartitionsService creates the daily partitions ahead of time. Clicks
 * carry no foreign keys: they are written in large batches on the hot path, and their link,
 * offer and principals are never deleted (links and offers are archived).
 */
export class Tracking1764000000100 implements MigrationInterface {
  name = 'Tracking1764000000100';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE tracking_links (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        code text NOT NULL CHECK (code ~ '^[A-Za-z0-9]{4,32}$'),
        affiliate_id uuid NOT NULL REFERENCES principals(id),
        offer_id uuid NOT NULL REFERENCES offers(id),
        advertiser_id uuid NOT NULL REFERENCES principals(id),
        label text CHECK (char_length(label) <= 200),
        channel text NOT NULL DEFAULT 'other' CHECK (channel IN (${CHANNELS})),
        ${SUB_COLUMNS},
        created_at timestamptz NOT NULL DEFAULT now(),
        archived_at timestamptz,
        CONSTRAINT tracking_links_code_key UNIQUE (code)
      )`);
    await q.query(`CREATE INDEX tracking_links_created ON tracking_links (created_at DESC, id DESC)`);
    await q.query(`CREATE INDEX tracking_links_affiliate ON tracking_links (affiliate_id, created_at DESC, id DESC)`);
    await q.query(`CREATE INDEX tracking_links_advertiser ON tracking_links (advertiser_id, created_at DESC, id DESC)`);
    await q.query(`CREATE INDEX tracking_links_offer ON tracking_links (offer_id, created_at DESC, id DESC)`);

    await q.query(`
      CREATE TABLE clicks (
        id text NOT NULL,
        clicked_at timestamptz NOT NULL,
        link_id uuid NOT NULL,
        offer_id uuid NOT NULL,
        affiliate_id uuid NOT NULL,
        advertiser_id uuid NOT NULL,
        channel text NOT NULL,
        sub1 text, sub2 text, sub3 text, sub4 text, sub5 text,
        ip inet,
        user_agent text,
        referrer text,
        is_unique boolean NOT NULL,
        status text NOT NULL DEFAULT 'ok'
          CHECK (status IN ('ok', 'offer_paused', 'offer_archived', 'affiliate_suspended', 'link_archived')),
        PRIMARY KEY (clicked_at, id)
      ) PARTITION BY RANGE (clicked_at)`);
    await q.query(`CREATE TABLE clicks_default PARTITION OF clicks DEFAULT`);
    // Newest-first listings scoped to an affiliate, an advertiser or an offer (GET /v1/clicks); a
    // link filter rides on the affiliate's index. Each index costs every click insert ~8 %.
    await q.query(`CREATE INDEX clicks_affiliate ON clicks (affiliate_id, clicked_at DESC, id DESC)`);
    await q.query(`CREATE INDEX clicks_advertiser ON clicks (advertiser_id, clicked_at DESC, id DESC)`);
    await q.query(`CREATE INDEX clicks_offer ON clicks (offer_id, clicked_at DESC, id DESC)`);

    await q.query(`
      CREATE TABLE coupons (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        advertiser_id uuid NOT NULL REFERENCES principals(id),
        offer_id uuid NOT NULL REFERENCES offers(id),
        affiliate_id uuid NOT NULL REFERENCES principals(id),
        code text NOT NULL CHECK (code ~ '^[A-Za-z0-9_-]{3,32}$'),
        status text NOT NULL CHECK (status IN ('active', 'pending', 'rejected', 'revoked')),
        requested_by uuid NOT NULL REFERENCES principals(id),
        decided_by uuid REFERENCES principals(id),
        created_at timestamptz NOT NULL DEFAULT now(),
        decided_at timestamptz
      )`);
    // A code names one coupon per advertiser, whatever its case; a rejected request frees it.
    await q.query(`CREATE UNIQUE INDEX coupons_advertiser_code ON coupons (advertiser_id, lower(code)) WHERE status <> 'rejected'`);
    await q.query(`CREATE INDEX coupons_created ON coupons (created_at DESC, id DESC)`);
    await q.query(`CREATE INDEX coupons_affiliate ON coupons (affiliate_id, created_at DESC, id DESC)`);
    await q.query(`CREATE INDEX coupons_advertiser ON coupons (advertiser_id, created_at DESC, id DESC)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS coupons`);
    await q.query(`DROP TABLE IF EXISTS clicks`);
    await q.query(`DROP TABLE IF EXISTS tracking_links`);
  }
}
