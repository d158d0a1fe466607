import { MigrationInterface, QueryRunner } from 'typeorm';

/** People who sign in to the web portal, their sessions and one-time invitations. */
export class Portal1764000000700 implements MigrationInterface {
  name = 'Portal1764000000700';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE portal_users (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        principal_id uuid NOT NULL REFERENCES principals(id),
        email text NOT NULL,
        name text NOT NULL,
        -- scrypt$<N>$<r>$<p>$<salt base64url>$<hash base64url>
        password_hash text NOT NULL,
        time_zone text NOT NULL DEFAULT 'UTC',
        status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
        last_login_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    // One sign-in per person across the network: the email names the user, whatever its principal.
    await q.query(`CREATE UNIQUE INDEX portal_users_email ON portal_users (lower(email))`);
    await q.query(`CREATE INDEX portal_users_principal ON portal_users (principal_id, created_at DESC)`);

    await q.query(`
      CREATE TABLE portal_sessions (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        user_id uuid NOT NULL REFERENCES portal_users(id) ON DELETE CASCADE,
        token_hash bytea NOT NULL UNIQUE,
        csrf_token text NOT NULL,
        ip inet,
        user_agent text,
        created_at timestamptz NOT NULL DEFAULT now(),
        last_seen_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL
      )`);
    await q.query(`CREATE INDEX portal_sessions_user ON portal_sessions (user_id)`);
    await q.query(`CREATE INDEX portal_sessions_expires ON portal_sessions (expires_at)`);

    await q.query(`
      CREATE TABLE portal_invites (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        principal_id uuid NOT NULL REFERENCES principals(id),
        email text NOT NULL,
        token_hash bytea NOT NULL UNIQUE,
        invited_by uuid REFERENCES portal_users(id),
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL,
        accepted_at timestamptz,
        accepted_user_id uuid REFERENCES portal_users(id)
      )`);
    await q.query(`CREATE INDEX portal_invites_principal ON portal_invites (principal_id, created_at DESC)`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of ['portal_invites', 'portal_sessions', 'portal_users']) await q.query(`DROP TABLE IF EXISTS ${table}`);
  }
}
