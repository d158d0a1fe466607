import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Outgoing webhooks (README, "Outgoing webhooks"): the endpoints advertisers and affiliates
 * register, each event once per principal (its id is what receivers deduplicate on), and every
 * call of an endpoint (the delivery log).
 */
export class OutgoingWebhooks1765880000000 implements MigrationInterface {
  name = 'OutgoingWebhooks1765880000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE webhook_endpoints (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        principal_id uuid NOT NULL REFERENCES principals(id),
        url text NOT NULL CHECK (char_length(url) BETWEEN 1 AND 2000),
        events text[] NOT NULL CHECK (cardinality(events) > 0),
        secret text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        deleted_at timestamptz
      )`);
    await q.query(`CREATE INDEX webhook_endpoints_principal ON webhook_endpoints (principal_id, created_at) WHERE deleted_at IS NULL`);
    await q.query(`
      CREATE TABLE webhook_events (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        principal_id uuid NOT NULL REFERENCES principals(id),
        type text NOT NULL,
        data jsonb NOT NULL,
        source text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT webhook_events_source UNIQUE (source, principal_id)
      )`);
    await q.query(`
      CREATE TABLE webhook_deliveries (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        endpoint_id uuid NOT NULL REFERENCES webhook_endpoints(id),
        event_id uuid NOT NULL REFERENCES webhook_events(id),
        attempt int NOT NULL,
        status_code int,
        latency_ms int NOT NULL,
        error text,
        outcome text NOT NULL CHECK (outcome IN ('delivered', 'failed', 'gave_up', 'endpoint_deleted')),
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, created_at, id)`);
    await q.query(`CREATE INDEX webhook_deliveries_event ON webhook_deliveries (event_id, endpoint_id) WHERE outcome = 'delivered'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS webhook_deliveries`);
    await q.query(`DROP TABLE IF EXISTS webhook_events`);
    await q.query(`DROP TABLE IF EXISTS webhook_endpoints`);
  }
}
