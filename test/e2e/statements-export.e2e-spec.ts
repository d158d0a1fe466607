import { get, IncomingMessage } from 'node:http';
import type { Pool } from 'pg';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';
import { createTestApp, TestApp } from '../support/create-test-app';
import { auth, createAdvertiser, createAffiliate, createFinanceUser, createOffer, PrincipalHandle } from '../support/factories';

// More lines than a few cursor batches (5 000 each), and more CSV than loopback socket buffers
// hold, so a paused reader really holds the export back.
const LINES = 60_000;
const OFFER_NAME = 'Spring, "best" deals';
const FROM_DAY = '2025-03-01';
const TO_DAY = '2025-03-02';
const START = Date.parse('2025-03-01T00:00:00.000Z');

/** Commission i: three per second (ties ordered by entry id), amounts varying with i. */
const atOf = (i: number) => new Date(START + Math.floor(i / 3) * 1000 + (i % 3 === 2 ? 7 : 0));
const amountOf = (i: number) => 100 + (Math.abs(i) % 997);
/** Minor units of EUR as the CSV writes them (only positive amounts here). */
const eur = (minor: number) => `${Math.floor(minor / 100)}.${String(minor % 100).padStart(2, '0')}`;

/**
 * LINES commissions for one affiliate written with SQL, as the commission job leaves them
 * (conversion, entry, two balanced lines, cached balances), plus one before the period for
 * a non-zero opening balance.
 */
async function seedHistory(t: TestApp, advertiser: PrincipalHandle, affiliate: PrincipalHandle, offerId: string): Promise<void> {
  const [{ goal_id: goalId }] = await t.dataSource.query(`SELECT id AS goal_id FROM offer_goals WHERE offer_id = $1 AND key = 'lead'`, [offerId]);
  await t.dataSource.transaction(async (m) => {
    const accounts: { id: string; type: string }[] = await m.query(
      `INSERT INTO ledger_accounts (type, owner_id, currency) VALUES ('advertiser_receivable', $1, 'EUR'), ('affiliate_pending', $2, 'EUR') RETURNING id, type`,
      [advertiser.id, affiliate.id],
    );
    const receivable = accounts.find((a) => a.type === 'advertiser_receivable')!;
    const pending = accounts.find((a) => a.type === 'affiliate_pending')!;
    await m.query(
      `WITH g AS MATERIALIZED (
         SELECT i, gen_random_uuid() AS conversion_id, gen_random_uuid() AS entry_id,
                CASE WHEN i < 0 THEN $7::timestamptz - interval '1 day'
                     ELSE $7::timestamptz + (i / 3) * interval '1 second' + CASE WHEN i % 3 = 2 THEN interval '7 milliseconds' ELSE interval '0' END END AS at,
                100 + abs(i) % 997 AS amount
           FROM generate_series(-1, $8::int - 1) AS i
       ), c AS (
         INSERT INTO conversions (id, advertiser_id, offer_id, goal_id, goal_key, affiliate_id, txn_id, currency, revenue, payout,
                                  revenue_rule, payout_rule, status, source, approve_after, created_at, updated_at)
         SELECT conversion_id, $1, $2, $3, 'lead', $4, 'T-' || i, 'EUR', amount, amount,
                jsonb_build_object('type', 'flat', 'amount', amount), jsonb_build_object('type', 'flat', 'amount', amount),
                'pending', 'postback', at + interval '365 days', at, at
           FROM g
       ), e AS (
         INSERT INTO journal_entries (id, kind, cause_type, cause_id, memo, created_at, effective_at)
         SELECT entry_id, 'commission', 'conversion', conversion_id::text, 'lead T-' || i, at, at FROM g
       )
       INSERT INTO journal_lines (entry_id, kind, effective_at, account_id, currency, amount, created_at)
       SELECT g.entry_id, 'commission', g.at, x.account_id, 'EUR', x.sign * g.amount, g.at
         FROM g CROSS JOIN (VALUES ($5::uuid, 1), ($6::uuid, -1)) AS x(account_id, sign)`,
      [advertiser.id, offerId, goalId, affiliate.id, receivable.id, pending.id, new Date(START), LINES],
    );
    await m.query(`SET CONSTRAINTS ALL IMMEDIATE`);
    await m.query(
      `UPDATE ledger_accounts a SET balance = s.total
         FROM (SELECT account_id, sum(amount) AS total FROM journal_lines WHERE account_id IN ($1, $2) GROUP BY account_id) s
        WHERE a.id = s.account_id`,
      [receivable.id, pending.id],
    );
  });
}

/** The statement CSV for the seeded history, built from what was written, not by the service's code. */
async function expectedCsv(t: TestApp): Promise<string> {
  // Ties in time are sorted by entry id, which is random: ask the database for that order only.
  const order: { txn_id: string }[] = await t.dataSource.query(
    `SELECT c.txn_id FROM journal_entries e JOIN conversions c ON c.id::text = e.cause_id
      WHERE c.txn_id LIKE 'T-%' AND e.created_at >= $1 ORDER BY e.created_at, e.id`,
    [new Date(START)],
  );
  expect(order).toHaveLength(LINES);
  const opening = amountOf(-1);
  let closing = opening;
  let csv = 'date,type,currency,offer,goal,txn_id,sale_amount,amount,status,reference\r\n';
  csv += `${new Date(START).toISOString()},opening_balance,EUR,,,,,${eur(opening)},,\r\n`;
  for (const { txn_id: txnId } of order) {
    const i = Number(txnId.slice(2));
    closing += amountOf(i);
    csv += `${atOf(i).toISOString()},conversion,EUR,"${OFFER_NAME.replace(/"/g, '""')}",lead,${txnId},,${eur(amountOf(i))},pending,\r\n`;
  }
  csv += `${new Date(START + 2 * 86_400_000).toISOString()},closing_balance,EUR,,,,,${eur(closing)},,\r\n`;
  return csv;
}

describe('statement CSV export at scale', () => {
  let t: TestApp;
  let affiliate: PrincipalHandle;
  let finance: PrincipalHandle;
  let pool: Pool;
  const path = () => `/v1/statements?affiliateId=${affiliate.id}&from=${FROM_DAY}&to=${TO_DAY}&format=csv`;

  /** Backends of this test's database other than the asking one, with what they are doing. */
  const backends = async (): Promise<{ state: string; query: string }[]> =>
    t.dataSource.query(`SELECT state, query FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'`);

  async function eventually(check: () => Promise<boolean>, what: string, ms = 10_000): Promise<void> {
    const until = Date.now() + ms;
    while (!(await check())) {
      if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  beforeAll(async () => {
    t = await createTestApp({ listen: true });
    pool = (t.dataSource.driver as PostgresDriver).master as Pool;
    const advertiser = await createAdvertiser(t);
    [affiliate, finance] = await Promise.all([createAffiliate(t, 'Bulk Affiliate'), createFinanceUser(t)]);
    const offer = await createOffer(t, advertiser, { currency: 'EUR', name: OFFER_NAME, lockPeriodDays: 365 });
    await seedHistory(t, advertiser, affiliate, offer.id);
  }, 120_000);
  afterAll(async () => {
    await t.close();
  });

  it('streams every line, byte for byte the expected CSV, in time order', async () => {
    const res = await t.http.get(path()).set(auth(finance.apiKey)).expect(200);
    expect(res.headers['content-type']).toMatch(/^text\/csv/);
    const expected = (await expectedCsv(t)).split('\r\n');
    const actual = res.text.split('\r\n');
    expect(actual).toHaveLength(expected.length);
    // Line by line first, so a failure names the first line that differs.
    for (let i = 0; i < expected.length; i++) if (actual[i] !== expected[i]) expect({ line: i, text: actual[i] }).toEqual({ line: i, text: expected[i] });
    expect(res.text).toBe(expected.join('\r\n'));
    // The JSON of the same statement agrees with the CSV.
    const json = await t.http.get(path().replace('format=csv', 'format=json')).set(auth(finance.apiKey)).expect(200);
    expect(json.body.sections).toHaveLength(1);
    expect(json.body.sections[0].lines).toHaveLength(LINES);
    expect(json.body.sections[0].closing - json.body.sections[0].opening).toBe(json.body.sections[0].totals.earned);
  }, 60_000);

  it('holds the cursor while the client is not reading, and ends it when the client goes away', async () => {
    await eventually(async () => pool.idleCount === pool.totalCount, 'an idle pool');
    let received = 0;
    const response = await new Promise<IncomingMessage>((resolve, reject) => {
      get(`${t.baseUrl}${path()}`, { headers: auth(finance.apiKey) }, resolve).on('error', reject);
    });
    expect(response.statusCode).toBe(200);
    await new Promise<void>((resolve) =>
      response.once('data', (chunk: Buffer) => {
        received += chunk.length;
        response.pause();
        resolve();
      }),
    );
    // The reader stopped: the export waits in its transaction, cursor open, instead of reading on.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    // Only the export's cursor counts: a background job (the outbox relay, rollup compaction) can
    // be caught between two statements of its own short transaction on a busy machine.
    const waiting = (await backends()).filter((b) => b.state === 'idle in transaction' && /^(FETCH|DECLARE)/.test(b.query));
    expect(waiting).toHaveLength(1);
    expect(received).toBeLessThan(1_000_000);

    response.destroy();
    await eventually(async () => (await backends()).every((b) => b.state !== 'idle in transaction' || !/^(FETCH|DECLARE)/.test(b.query)), 'the transaction to end');
    await eventually(async () => pool.idleCount === pool.totalCount && pool.waitingCount === 0, 'the connection back in the pool');
    // The pool's connections still work, and a new export completes.
    const again = await t.http.get(path()).set(auth(finance.apiKey)).expect(200);
    expect(again.text.split('\r\n')).toHaveLength(LINES + 4);
  }, 60_000);
});
