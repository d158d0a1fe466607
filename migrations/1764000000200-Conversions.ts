import { MigrationInterface, QueryRunner } from 'typeorm';

export class Conversions1764000000200 implements MigrationInterface {
  name = 'Conversions1764000000200';

  async up(_q: QueryRunner): Promise<void> {}

  async down(_q: QueryRunner): Promise<void> {}
}
