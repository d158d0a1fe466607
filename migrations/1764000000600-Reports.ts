import { MigrationInterface, QueryRunner } from 'typeorm';

export class Reports1764000000600 implements MigrationInterface {
  name = 'Reports1764000000600';

  async up(_q: QueryRunner): Promise<void> {}

  async down(_q: QueryRunner): Promise<void> {}
}
