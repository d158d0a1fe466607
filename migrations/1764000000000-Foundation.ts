import { MigrationInterface, QueryRunner } from 'typeorm';

/** Principals, API keys, postback tokens, offers, goals, overrides and offer access. */
export class Foundation1764000000000 implements MigrationInterface {
  name = 'Foundation1764000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE EXTENSION IF NOT EXISTS pgcrypto`);
    await q.query(`
      CREATE TABLE principals (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        role text NOT NULL CHECK (role IN ('admin', 'advertiser', 'affiliate', 'finance')),
        name text NOT NULL,
        email text NOT NULL,
        status text NOT NULL DEFAULT 'active' CHECK (status IN ('pending', 'active', 'suspended')),
        payout_threshold bigint CHECK (payout_threshold >= 0),
        metadata jsonb NOT NULL DEFAULT '{}',
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE UNIQUE INDEX principals_role_email ON principals (role, lower(email))`);
    await q.query(`CREATE INDEX principals_role_created ON principals (role, created_at DESC)`);

    await q.query(`
      CREATE TABLE api_keys (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        principal_id uuid NOT NULL REFERENCES principals(id),
        prefix text NOT NULL,
        key_hash bytea NOT NULL UNIQUE,
        label text,
        created_at timestamptz NOT NULL DEFAULT now(),
        revoked_at timestamptz,
        last_used_at timestamptz
      )`);
    await q.query(`CREATE INDEX api_keys_principal ON api_keys (principal_id, created_at DESC)`);

    await q.query(`
      CREATE TABLE postback_tokens (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        advertiser_id uuid NOT NULL REFERENCES principals(id),
        token text NOT NULL UNIQUE,
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz
      )`);
    await q.query(`CREATE INDEX postback_tokens_advertiser ON postback_tokens (advertiser_id, created_at DESC)`);

    await q.query(`
      CREATE TABLE offers (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        advertiser_id uuid NOT NULL REFERENCES principals(id),
        name text NOT NULL,
        description text,
        landing_url text NOT NULL,
        fallback_url text,
        currency char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
        status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'paused', 'archived')),
        visibility text NOT NULL DEFAULT 'public' CHECK (visibility IN ('public', 'approval_required', 'private')),
        attribution_window_days int NOT NULL DEFAULT 30 CHECK (attribution_window_days BETWEEN 1 AND 365),
        lock_period_days int NOT NULL DEFAULT 30 CHECK (lock_period_days BETWEEN 0 AND 365),
        attribution_priority text NOT NULL DEFAULT 'coupon_first' CHECK (attribution_priority IN ('coupon_first', 'click_first')),
        min_click_to_conversion_seconds int NOT NULL DEFAULT 0 CHECK (min_click_to_conversion_seconds >= 0),
        caps jsonb NOT NULL DEFAULT '{}',
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX offers_advertiser ON offers (advertiser_id, created_at DESC)`);
    await q.query(`CREATE INDEX offers_created ON offers (created_at DESC, id DESC)`);

    await q.query(`
      CREATE TABLE offer_goals (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        offer_id uuid NOT NULL REFERENCES offers(id),
        key text NOT NULL,
        name text,
        revenue jsonb NOT NULL,
        payout jsonb NOT NULL,
        archived_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (offer_id, key)
      )`);

    await q.query(`
      CREATE TABLE goal_payout_overrides (
        goal_id uuid NOT NULL REFERENCES offer_goals(id),
        affiliate_id uuid NOT NULL REFERENCES principals(id),
        payout jsonb NOT NULL,
        PRIMARY KEY (goal_id, affiliate_id)
      )`);

    await q.query(`
      CREATE TABLE offer_access (
        offer_id uuid NOT NULL REFERENCES offers(id),
        affiliate_id uuid NOT NULL REFERENCES principals(id),
        status text NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
        note text,
        decided_by uuid REFERENCES principals(id),
        decided_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (offer_id, affiliate_id)
      )`);
    await q.query(`CREATE INDEX offer_access_affiliate ON offer_access (affiliate_id, status)`);

    // Settings the service generates once and keeps (the click-signing secret, when not configured).
    await q.query(`
      CREATE TABLE app_settings (
        key text PRIMARY KEY,
        value text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of ['app_settings', 'offer_access', 'goal_payout_overrides', 'offer_goals', 'offers', 'postback_tokens', 'api_keys', 'principals']) {
      await q.query(`DROP TABLE IF EXISTS ${table}`);
    }
  }
}
