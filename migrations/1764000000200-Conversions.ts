import { MigrationInterface, QueryRunner } from 'typeorm';

/** Conversions, their event history, and the transactional outbox that feeds BullMQ. */
export class Conversions1764000000200 implements MigrationInterface {
  name = 'Conversions1764000000200';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE conversions (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        advertiser_id uuid NOT NULL REFERENCES principals(id),
        offer_id uuid REFERENCES offers(id),
        goal_id uuid REFERENCES offer_goals(id),
        goal_key text NOT NULL,
        affiliate_id uuid REFERENCES principals(id),
        link_id uuid,
        click_id text,
        clicked_at timestamptz,
        coupon_id uuid,
        coupon_code text,
        attributed_by text CHECK (attributed_by IN ('click', 'coupon')),
        txn_id text NOT NULL,
        sale_amount bigint CHECK (sale_amount >= 0),
        currency char(3) CHECK (currency ~ '^[A-Z]{3}$'),
        revenue bigint NOT NULL DEFAULT 0 CHECK (revenue >= 0),
        payout bigint NOT NULL DEFAULT 0 CHECK (payout >= 0),
        revenue_rule jsonb,
        payout_rule jsonb,
        rounding jsonb NOT NULL DEFAULT '{}',
        status text NOT NULL CHECK (status IN ('pending', 'approved', 'paid', 'rejected', 'reversed', 'unattributed')),
        reason text,
        reason_detail text,
        source text NOT NULL CHECK (source IN ('postback', 'pixel', 'api')),
        ip inet,
        user_agent text,
        approve_after timestamptz,
        approved_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        -- One conversion per advertiser, goal and transaction, however often and concurrently it arrives.
        CONSTRAINT conversions_idempotency UNIQUE (advertiser_id, goal_key, txn_id)
      )`);
    await q.query(`CREATE INDEX conversions_created ON conversions (created_at DESC, id DESC)`);
    await q.query(`CREATE INDEX conversions_advertiser ON conversions (advertiser_id, created_at DESC)`);
    await q.query(`CREATE INDEX conversions_affiliate ON conversions (affiliate_id, created_at DESC) WHERE affiliate_id IS NOT NULL`);
    // Cap counting: accepted conversions of an offer (and of an affiliate on it) by time.
    await q.query(`CREATE INDEX conversions_offer_caps ON conversions (offer_id, created_at) WHERE status IN ('pending', 'approved', 'paid')`);
    await q.query(`CREATE INDEX conversions_offer_affiliate_caps ON conversions (offer_id, affiliate_id, created_at) WHERE status IN ('pending', 'approved', 'paid')`);
    // The approval job's work list.
    await q.query(`CREATE INDEX conversions_due_approval ON conversions (approve_after) WHERE status = 'pending'`);

    await q.query(`
      CREATE TABLE conversion_events (
        id bigserial PRIMARY KEY,
        conversion_id uuid NOT NULL REFERENCES conversions(id),
        from_status text,
        to_status text NOT NULL,
        actor_type text NOT NULL CHECK (actor_type IN ('principal', 'postback', 'system')),
        actor_id uuid,
        reason text,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX conversion_events_conversion ON conversion_events (conversion_id, id)`);

    await q.query(`
      CREATE TABLE outbox (
        id bigserial PRIMARY KEY,
        topic text NOT NULL,
        aggregate_id text NOT NULL,
        payload jsonb NOT NULL DEFAULT '{}',
        created_at timestamptz NOT NULL DEFAULT now(),
        relayed_at timestamptz,
        attempts int NOT NULL DEFAULT 0,
        last_error text
      )`);
    await q.query(`CREATE INDEX outbox_pending ON outbox (id) WHERE relayed_at IS NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS outbox`);
    await q.query(`DROP TABLE IF EXISTS conversion_events`);
    await q.query(`DROP TABLE IF EXISTS conversions`);
  }
}
