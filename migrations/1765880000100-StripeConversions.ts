import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Stripe-native conversions (README, "Stripe-native conversions"): an advertiser's connection
 * (the offer and goal its sales convert on, the signing secret of the endpoint it registered in
 * its own Stripe account, and optionally a restricted key to read its promotion codes), the events applied (once per advertiser and event id), the payments
 * that became conversions (a refund finds its conversion by the charge's payment intent or
 * invoice; a subscription's first payment points at its invoice, `via`, which the Checkout Session converted), and how much of each charge was refunded and taken off the commission so far.
 */
export class StripeConversions1765880000100 implements MigrationInterface {
  name = 'StripeConversions1765880000100';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE stripe_integrations (
        advertiser_id uuid PRIMARY KEY REFERENCES principals(id),
        offer_id uuid NOT NULL REFERENCES offers(id),
        goal_key text NOT NULL,
        webhook_secret text NOT NULL,
        api_key text,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE stripe_integration_events (
        advertiser_id uuid NOT NULL REFERENCES principals(id),
        event_id text NOT NULL,
        type text NOT NULL,
        outcome text NOT NULL,
        received_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (advertiser_id, event_id)
      )`);
    await q.query(`
      CREATE TABLE stripe_integration_payments (
        advertiser_id uuid NOT NULL REFERENCES principals(id),
        ref text NOT NULL,
        conversion_id uuid REFERENCES conversions(id),
        via text,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (advertiser_id, ref),
        CONSTRAINT stripe_integration_payments_target CHECK (conversion_id IS NOT NULL OR via IS NOT NULL)
      )`);
    await q.query(`
      CREATE TABLE stripe_integration_refunds (
        advertiser_id uuid NOT NULL REFERENCES principals(id),
        charge_id text NOT NULL,
        conversion_id uuid NOT NULL REFERENCES conversions(id),
        refunded bigint NOT NULL CHECK (refunded >= 0),
        commission_reduced bigint NOT NULL CHECK (commission_reduced >= 0),
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (advertiser_id, charge_id)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS stripe_integration_refunds`);
    await q.query(`DROP TABLE IF EXISTS stripe_integration_payments`);
    await q.query(`DROP TABLE IF EXISTS stripe_integration_events`);
    await q.query(`DROP TABLE IF EXISTS stripe_integrations`);
  }
}
