import { Logger } from '@nestjs/common';
import { DataSource, DataSourceOptions } from 'typeorm';
import type { EnvironmentVariables } from '../config/env.validation';
import { dataSourceOptions } from './data-source-options';
import { ensureDatabase } from './ensure-database';

export interface MigrationTimeouts {
  /** lock_timeout of the migrating connection, ms; 0 waits for ever. */
  lockTimeoutMs: number;
  /** statement_timeout of the migrating connection, ms; 0 lets a statement run for ever. */
  statementTimeoutMs: number;
}

export function migrationTimeouts(env: Pick<EnvironmentVariables, 'MIGRATION_LOCK_TIMEOUT_MS' | 'MIGRATION_STATEMENT_TIMEOUT_MS'>): MigrationTimeouts {
  return { lockTimeoutMs: env.MIGRATION_LOCK_TIMEOUT_MS, statementTimeoutMs: env.MIGRATION_STATEMENT_TIMEOUT_MS };
}

/**
 * Creates the database if missing and applies pending migrations, under an advisory lock so an
 * API and a worker starting together do not both migrate.
 */
export async function prepareDatabase(url: string, runMigrations = true, timeouts: MigrationTimeouts = { lockTimeoutMs: 0, statementTimeoutMs: 0 }): Promise<void> {
  await ensureDatabase(url);
  if (!runMigrations) return;
  // One connection holds the lock, one migrates; the migrations are SQL and need no entities.
  // Each connection starts with the migrations' lock and statement timeouts: a migration that
  // waits behind the traffic for a table lock gives up instead of stopping every query queued behind it.
  const options = dataSourceOptions(url, 2, []);
  const dataSource = new DataSource({
    ...options,
    extra: { ...options.extra, options: `-c lock_timeout=${timeouts.lockTimeoutMs} -c statement_timeout=${timeouts.statementTimeoutMs}` },
  } as DataSourceOptions);
  await dataSource.initialize();
  const runner = dataSource.createQueryRunner();
  try {
    // Waiting for another process's migrations is not a table lock: no timeout on this one.
    await runner.query(`SET lock_timeout = 0`);
    await runner.query(`SET statement_timeout = 0`);
    await runner.query(`SELECT pg_advisory_lock(hashtext('afx:migrations'))`);
    const applied = await dataSource.runMigrations({ transaction: 'each' });
    if (applied.length) new Logger('Migrations').log(`applied ${applied.map((m) => m.name).join(', ')}`);
  } finally {
    await runner.query(`SELECT pg_advisory_unlock(hashtext('afx:migrations'))`).catch(() => undefined);
    await runner.release();
    await dataSource.destroy();
  }
}
