import { MigrationInterface, QueryRunner } from 'typeorm';

/** Affiliates' outgoing postback templates and the log of every attempt to call them. */
export class Postbacks1764000000400 implements MigrationInterface {
  name = 'Postbacks1764000000400';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE postback_settings (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        affiliate_id uuid NOT NULL REFERENCES principals(id),
        offer_id uuid REFERENCES offers(id),
        url_template text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    // One general template per affiliate, and one per offer overriding it.
    await q.query(`CREATE UNIQUE INDEX postback_settings_scope ON postback_settings (affiliate_id, COALESCE(offer_id, '00000000-0000-0000-0000-000000000000'::uuid))`);

    await q.query(`
      CREATE TABLE postback_attempts (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        affiliate_id uuid NOT NULL REFERENCES principals(id),
        conversion_id uuid REFERENCES conversions(id),
        event_id bigint,
        is_test boolean NOT NULL DEFAULT false,
        attempt int NOT NULL,
        url text NOT NULL,
        status_code int,
        latency_ms int NOT NULL,
        error text,
        response_excerpt text,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX postback_attempts_affiliate ON postback_attempts (affiliate_id, created_at DESC, id DESC)`);
    await q.query(`CREATE INDEX postback_attempts_conversion ON postback_attempts (conversion_id) WHERE conversion_id IS NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS postback_attempts`);
    await q.query(`DROP TABLE IF EXISTS postback_settings`);
  }
}
