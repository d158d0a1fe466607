import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Optional TOTP two-factor sign-in for people of the portal: the shared secret (base32), when it
 * was turned on, and the last time step accepted (a code is good once).
 */
export class PortalTwoFactor1765890000100 implements MigrationInterface {
  name = 'PortalTwoFactor1765890000100';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE portal_users ADD COLUMN totp_secret text, ADD COLUMN totp_enabled_at timestamptz, ADD COLUMN totp_last_step bigint`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE portal_users DROP COLUMN totp_secret, DROP COLUMN totp_enabled_at, DROP COLUMN totp_last_step`);
  }
}
