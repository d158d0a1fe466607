import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { ledgerVerifyDatabase, readEnvironment } from './config/configuration';
import { dataSourceOptions } from './database/data-source-options';
import { ENTITIES } from './entities';
import { BILLING_CHECKS } from './modules/billing/billing.checks';
import { commissionChecks } from './modules/commissions/commission.checks';
import { formatVerification, verifyLedger } from './modules/ledger/ledger.verify';
import { PROGRAMS_CHECKS } from './modules/programs/programs.checks';

/**
 * `npm run ledger:verify`: the ledger's invariants and the other features' checks against it.
 * Exit 0 when all hold, 1 on a breach (named last), 2 when it cannot run.
 */
async function main(): Promise<number> {
  const env = readEnvironment();
  const target = ledgerVerifyDatabase(env);
  const dataSource = new DataSource(dataSourceOptions(target.url, 1, ENTITIES));
  await dataSource.initialize();
  try {
    const grace = env.LEDGER_VERIFY_GRACE_SECONDS;
    process.stdout.write(`verifying the ledger on the ${target.replica ? 'replica' : 'primary'}${grace ? `, leaving out conversions changed in the last ${grace} s` : ''}\n`);
    const result = await verifyLedger(dataSource, [...commissionChecks(grace), ...BILLING_CHECKS, ...PROGRAMS_CHECKS]);
    process.stdout.write(`${formatVerification(result).join('\n')}\n`);
    return result.ok ? 0 : 1;
  } finally {
    await dataSource.destroy();
  }
}

main().then(
  (code) => process.exit(code),
  (error) => {
    process.stderr.write(`ledger:verify could not run: ${error?.message ?? error}\n`);
    process.exit(2);
  },
);
