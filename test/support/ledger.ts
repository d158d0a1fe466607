import { BILLING_CHECKS } from '../../src/modules/billing/billing.checks';
import { COMMISSION_CHECKS } from '../../src/modules/commissions/commission.checks';
import { formatVerification, verifyLedger } from '../../src/modules/ledger/ledger.verify';
import { PROGRAMS_CHECKS } from '../../src/modules/programs/programs.checks';
import type { TestApp } from './create-test-app';

/** What `npm run ledger:verify` checks, on the test's database; fails the test naming the breach. */
export async function expectLedgerVerified(t: TestApp): Promise<void> {
  const result = await verifyLedger(t.dataSource, [...COMMISSION_CHECKS, ...BILLING_CHECKS, ...PROGRAMS_CHECKS]);
  if (!result.ok) throw new Error(`ledger verification failed:\n${formatVerification(result).join('\n')}`);
}
