import { ConfigError } from '../../src/config/env.validation';
import { ledgerVerifyDatabase } from '../../src/config/configuration';
import { commissionChecks } from '../../src/modules/commissions/commission.checks';
import { verifyLedger } from '../../src/modules/ledger/ledger.verify';
import { QUEUES } from '../../src/queue/queues';
import { createTestApp, TestApp } from '../support/create-test-app';
import { drainQueues, queue } from '../support/drain';
import { createAdvertiser, createAffiliate, createOffer } from '../support/factories';
import { convert } from '../support/network';

const MISSING = 'every accepted conversion has its commission entry';

/** ledger:verify while conversions are in flight (LEDGER_VERIFY_GRACE_SECONDS) and on the replica (LEDGER_VERIFY_ON_REPLICA). */
describe('ledger:verify with work in flight', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ workers: true });
  });
  afterAll(() => t.close());

  it('leaves out a conversion whose commission job has not run yet within the grace, and names it past the grace', async () => {
    const advertiser = await createAdvertiser(t);
    const affiliate = await createAffiliate(t);
    const offer = await createOffer(t, advertiser);
    await queue(t, QUEUES.commissions).pause();
    try {
      const { id } = await convert(t, advertiser, affiliate, offer);
      const failing = async (grace: number) => (await verifyLedger(t.dataSource, commissionChecks(grace))).checks.filter((c) => !c.ok).map((c) => c.name);

      expect(await failing(0)).toEqual([MISSING]);
      expect(await failing(300)).toEqual([]);
      await t.dataSource.query(`UPDATE conversions SET updated_at = now() - interval '10 minutes' WHERE id = $1`, [id]);
      expect(await failing(300)).toEqual([MISSING]);
    } finally {
      await queue(t, QUEUES.commissions).resume();
    }
    await drainQueues(t);
    expect((await verifyLedger(t.dataSource, commissionChecks(0))).ok).toBe(true);
  });

  it('reads the replica only when asked, and refuses without one', () => {
    const primary = 'postgres://p@127.0.0.1/afx';
    const replica = 'postgres://r@127.0.0.2/afx';
    expect(ledgerVerifyDatabase({ DATABASE_URL: primary, DATABASE_REPLICA_URL: replica, LEDGER_VERIFY_ON_REPLICA: false })).toEqual({ url: primary, replica: false });
    expect(ledgerVerifyDatabase({ DATABASE_URL: primary, DATABASE_REPLICA_URL: replica, LEDGER_VERIFY_ON_REPLICA: true })).toEqual({ url: replica, replica: true });
    expect(() => ledgerVerifyDatabase({ DATABASE_URL: primary, LEDGER_VERIFY_ON_REPLICA: true })).toThrow(ConfigError);
  });
});
