import { Client } from 'pg';
import { prepareDatabase } from '../../src/database/prepare';
import { cloneTemplate } from '../support/create-test-app';
import { databaseUrl, dropDatabase, randomSuffix } from '../support/test-env';

/** A migration that waits for a table lock behind the traffic gives up after MIGRATION_LOCK_TIMEOUT_MS. */
describe('migrations under load', () => {
  const name = `afx_t_${process.env.AFX_TEST_RUN_ID}_mig_${randomSuffix()}`;
  let holder: Client;

  beforeAll(async () => {
    await cloneTemplate(name);
    holder = new Client({ connectionString: databaseUrl(name) });
    await holder.connect();
  });
  afterAll(async () => {
    await holder.end().catch(() => undefined);
    await dropDatabase(name);
  });

  it('fails a migration that cannot get its table lock within the lock timeout, instead of queueing the traffic behind it', async () => {
    // PayoutRails (and every later migration) as if not applied yet, and a long transaction holding
    // a lock on its table: PayoutRails is the first to run, and waits for that lock.
    const undone = (await holder.query(`DELETE FROM migrations WHERE timestamp >= 1765720000000 RETURNING name, timestamp`)).rows;
    const last = undone.reduce((a: { timestamp: string }, b: { timestamp: string }) => (Number(a.timestamp) <= Number(b.timestamp) ? a : b));
    expect(last.name).toBe('PayoutRails1765720000000');
    await holder.query(`BEGIN`);
    await holder.query(`LOCK TABLE payout_accounts IN ACCESS SHARE MODE`);

    const started = Date.now();
    await expect(prepareDatabase(databaseUrl(name), true, { lockTimeoutMs: 300, statementTimeoutMs: 60_000 })).rejects.toThrow(/lock timeout/);
    expect(Date.now() - started).toBeLessThan(5000);

    await holder.query(`ROLLBACK`);
    // Each migration runs in its own transaction: the interrupted one left nothing behind.
    const [pending] = (await holder.query(`SELECT count(*)::int AS n FROM migrations WHERE name = $1`, [last.name])).rows;
    expect(pending.n).toBe(0);
  });
});
