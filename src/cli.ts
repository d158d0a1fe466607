import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { readEnvironment } from './config/configuration';
import { dataSourceOptions } from './database/data-source-options';
import { ENTITIES } from './entities';
import { migrationTimeouts, prepareDatabase } from './database/prepare';
import { Logger } from '@nestjs/common';
import { PinoLoggerService } from './common/logging/pino-logger';
import { generateApiKey } from './modules/principals/api-key.util';
import { principalsRepository } from './modules/principals/principals.repository';

const USAGE = `usage: node dist/src/cli.js <command>
  migration:run       create the database if missing and apply pending migrations
  migration:revert    revert the last applied migration
  migration:show      list migrations and whether each is applied
  admin:create-key    create an admin principal's API key and print it once`;

async function withDataSource<T>(fn: (ds: DataSource) => Promise<T>): Promise<T> {
  const env = readEnvironment();
  const ds = new DataSource(dataSourceOptions(env.DATABASE_URL, 1, ENTITIES));
  await ds.initialize();
  try {
    return await fn(ds);
  } finally {
    await ds.destroy();
  }
}

const commands: Record<string, () => Promise<void>> = {
  'migration:run': async () => {
    const env = readEnvironment();
    Logger.overrideLogger(new PinoLoggerService(env.LOG_LEVEL));
    await prepareDatabase(env.DATABASE_URL, true, migrationTimeouts(env));
    process.stdout.write('migrations applied\n');
  },
  'migration:revert': () =>
    withDataSource(async (ds) => {
      await ds.undoLastMigration({ transaction: 'each' });
      process.stdout.write('last migration reverted\n');
    }),
  'migration:show': () =>
    withDataSource(async (ds) => {
      const applied = new Set((await ds.query('SELECT name FROM migrations')).map((r: { name: string }) => r.name));
      for (const m of ds.migrations) process.stdout.write(`${applied.has(m.name) ? '[x]' : '[ ]'} ${m.name}\n`);
    }),
  'admin:create-key': async () => {
    await prepareDatabase(readEnvironment().DATABASE_URL);
    await withDataSource(async (ds) => {
      const key = generateApiKey('admin');
      await ds.transaction(async (m) => {
        await principalsRepository.addCliAdminKey(m, key);
      });
      process.stdout.write(`${key}\n`);
    });
  },
};

async function main(): Promise<void> {
  const command = commands[process.argv[2] ?? ''];
  if (!command) {
    process.stderr.write(`${USAGE}\n`);
    process.exit(2);
  }
  await command();
}

void main().catch((error) => {
  process.stderr.write(`afflux: ${error?.message ?? error}\n`);
  process.exit(1);
});
