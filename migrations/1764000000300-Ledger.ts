import { MigrationInterface, QueryRunner } from 'typeorm';

export class Ledger1764000000300 implements MigrationInterface {
  name = 'Ledger1764000000300';

  async up(_q: QueryRunner): Promise<void> {}

  async down(_q: QueryRunner): Promise<void> {}
}
