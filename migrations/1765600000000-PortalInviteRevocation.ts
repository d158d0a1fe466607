import { MigrationInterface, QueryRunner } from 'typeorm';

/** Admins can take back an invitation before it is used; the link then says so (410) instead of "unknown". */
export class PortalInviteRevocation1765600000000 implements MigrationInterface {
  name = 'PortalInviteRevocation1765600000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE portal_invites ADD COLUMN revoked_at timestamptz`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE portal_invites DROP COLUMN revoked_at`);
  }
}
