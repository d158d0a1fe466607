import { MigrationInterface, QueryRunner } from 'typeorm';

export class Tracking1764000000100 implements MigrationInterface {
  name = 'Tracking1764000000100';

  async up(_q: QueryRunner): Promise<void> {}

  async down(_q: QueryRunner): Promise<void> {}
}
