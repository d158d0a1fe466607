import { MigrationInterface, QueryRunner } from 'typeorm';

/** An affiliate's application can be turned away: principal status `rejected`. */
export class PrincipalRejected1765890000000 implements MigrationInterface {
  name = 'PrincipalRejected1765890000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE principals DROP CONSTRAINT principals_status_check`);
    await q.query(`ALTER TABLE principals ADD CONSTRAINT principals_status_check CHECK (status IN ('pending', 'active', 'suspended', 'rejected'))`);
  }

  async down(q: QueryRunner): Promise<void> {
    // Turned-away applicants stay shut out as suspended ones.
    await q.query(`UPDATE principals SET status = 'suspended' WHERE status = 'rejected'`);
    await q.query(`ALTER TABLE principals DROP CONSTRAINT principals_status_check`);
    await q.query(`ALTER TABLE principals ADD CONSTRAINT principals_status_check CHECK (status IN ('pending', 'active', 'suspended'))`);
  }
}
