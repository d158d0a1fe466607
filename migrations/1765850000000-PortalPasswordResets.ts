import { MigrationInterface, QueryRunner } from 'typeorm';

/** "Forgot your password?": one-time links mailed to a person, stored hashed, good for an hour. */
export class PortalPasswordResets1765850000000 implements MigrationInterface {
  name = 'PortalPasswordResets1765850000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE portal_password_resets (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        user_id uuid NOT NULL REFERENCES portal_users(id) ON DELETE CASCADE,
        token_hash bytea NOT NULL UNIQUE,
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL,
        used_at timestamptz
      )`);
    await q.query(`CREATE INDEX portal_password_resets_user ON portal_password_resets (user_id, created_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE portal_password_resets`);
  }
}
