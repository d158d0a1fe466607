import { Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { dataSourceOptions } from './data-source-options';
import { ensureDatabase } from './ensure-database';

/**
 * Creates the database if missing and applies pending migrations, under an advisory lock so an
 * API and a worker starting together do not both migrate.
 */
export async function prepareDatabase(url: string, runMigrations = true): Promise<void> {
  await ensureDatabase(url);
  if (!runMigrations) return;
  // One connection holds the lock, one migrates; the migrations are SQL and need no entities.
  const dataSource = new DataSource(dataSourceOptions(url, 2, []));
  await dataSource.initialize();
  const runner = dataSource.createQueryRunner();
  try {
    await runner.query(`SELECT pg_advisory_lock(hashtext('afx:migrations'))`);
    const applied = await dataSource.runMigrations({ transaction: 'each' });
    if (applied.length) new Logger('Migrations').log(`applied ${applied.map((m) => m.name).join(', ')}`);
  } finally {
    await runner.query(`SELECT pg_advisory_unlock(hashtext('afx:migrations'))`).catch(() => undefined);
    await runner.release();
    await dataSource.destroy();
  }
}
