import { MigrationInterface, QueryRunner } from 'typeorm';

export class Portal1764000000700 implements MigrationInterface {
  name = 'Portal1764000000700';

  async up(_q: QueryRunner): Promise<void> {}

  async down(_q: QueryRunner): Promise<void> {}
}
