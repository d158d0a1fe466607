import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { ENTITIES } from './entities';
import { ReconciliationModule } from './modules/reconciliation/reconciliation.module';
import { formatReconciliation, ReconciliationService } from './modules/reconciliation/reconciliation.service';

/**
 * `npm run reconcile [-- --json]`: the ledger against Stripe (transfers and invoices), every
 * difference on its own line. Exit 0 when they agree, 1 on a difference, 2 when it cannot run.
 */
async function main(): Promise<number> {
  const app = await NestFactory.createApplicationContext(ReconciliationModule.forRoot(ENTITIES), { logger: ['error'] });
  try {
    const result = await app.get(ReconciliationService).reconcile();
    const json = process.argv.includes('--json');
    process.stdout.write(json ? `${JSON.stringify(result, null, 2)}\n` : `${formatReconciliation(result).join('\n')}\n`);
    return result.differences.length ? 1 : 0;
  } finally {
    await app.close();
  }
}

main().then(
  (code) => process.exit(code),
  (error) => {
    process.stderr.write(`reconcile could not run: ${error?.message ?? error}\n`);
    process.exit(2);
  },
);
