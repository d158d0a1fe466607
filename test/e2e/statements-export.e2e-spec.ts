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

/**
 * A month of one affiliate's history in three currencies with text a spreadsheet must not run
 * and CSV must quote: the statement's bytes are pinned below, whatever reads the rows.
 * Entry ids are fixed, so lines at the same instant keep their order.
 */
async function seedAwkwardHistory(t: TestApp, advertiser: PrincipalHandle, affiliate: PrincipalHandle, finance: PrincipalHandle, offerIds: string[]): Promise<void> {
  await t.dataSource.transaction(async (m) => {
    const account = async (type: string, owner: string, currency: string): Promise<string> =>
      (await m.query(`INSERT INTO ledger_accounts (type, owner_id, currency) VALUES ($1, $2, $3) RETURNING id`, [type, owner, currency]))[0].id;
    const acc: Record<string, string> = {};
    for (const currency of ['EUR', 'JPY', 'KWD']) {
      acc[`receivable ${currency}`] = await account('advertiser_receivable', advertiser.id, currency);
      acc[`pending ${currency}`] = await account('affiliate_pending', affiliate.id, currency);
    }
    acc['available EUR'] = await account('affiliate_available', affiliate.id, 'EUR');
    acc['clawback EUR'] = await account('affiliate_clawback', affiliate.id, 'EUR');
    const entryId = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
    const conversionId = (n: number) => `00000000-0000-4000-9000-${String(n).padStart(12, '0')}`;
    const conversion = async (n: number, o: { offer: number; currency: string; goal: string; txn: string; sale: number | null; status: string; at: string; updatedAt?: string }) =>
      m.query(
        `INSERT INTO conversions (id, advertiser_id, offer_id, goal_key, affiliate_id, txn_id, sale_amount, currency, revenue, payout, status, source, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, 0, $9, 'api', $10, $11)`,
        [conversionId(n), advertiser.id, offerIds[o.offer], o.goal, affiliate.id, o.txn, o.sale, o.currency, o.status, o.at, o.updatedAt ?? o.at],
      );
    const entry = async (n: number, kind: string, cause: [string, string], at: string, lines: [string, number][]) => {
      await m.query(`INSERT INTO journal_entries (id, kind, cause_type, cause_id, created_at, effective_at) VALUES ($1, $2, $3, $4, $5, $5)`, [entryId(n), kind, ...cause, at]);
      for (const [name, amount] of lines) {
        await m.query(`INSERT INTO journal_lines (entry_id, kind, effective_at, account_id, currency, amount, created_at) VALUES ($1, $2, $3, $4, $5, $6, $3)`, [
          entryId(n),
          kind,
          at,
          acc[name],
          name.slice(-3),
          amount,
        ]);
      }
    };
    const commission = (n: number, currency: string, amount: number, at: string) =>
      entry(n, 'commission', ['conversion', conversionId(n)], at, [
        [`receivable ${currency}`, amount],
        [`pending ${currency}`, -amount],
      ]);

    // Before the period: the EUR opening balance.
    await conversion(1, { offer: 0, currency: 'EUR', goal: 'lead', txn: 'OPEN-1', sale: null, status: 'approved', at: '2025-03-31T23:59:59.999Z' });
    await commission(1, 'EUR', 1_000, '2025-03-31T23:59:59.999Z');
    // Formula starts, quotes, commas, line breaks, an empty text and non-ASCII, in each text column.
    await conversion(2, { offer: 0, currency: 'EUR', goal: '@goal', txn: '=1+2', sale: 123_456, status: 'approved', at: '2025-04-02T10:00:00.000Z' });
    await commission(2, 'EUR', 2_550, '2025-04-02T10:00:00.000Z');
    await conversion(3, {
      offer: 1,
      currency: 'EUR',
      goal: 'sale',
      txn: 'line 1\nline 2, "quoted"',
      sale: 0,
      status: 'reversed',
      at: '2025-04-02T10:00:00.000Z',
      updatedAt: '2025-05-10T08:00:00Z',
    });
    await commission(3, 'EUR', 1, '2025-04-02T10:00:00.000Z');
    await conversion(4, { offer: 1, currency: 'EUR', goal: '\tgoal', txn: '', sale: 99, status: 'pending', at: '2025-04-03T00:00:00.000Z' });
    await commission(4, 'EUR', 1_999, '2025-04-03T00:00:00.000Z');
    // Conversion 3 was approved in the period and reversed after it: the ended period shows "approved".
    await m.query(
      `INSERT INTO conversion_events (conversion_id, from_status, to_status, actor_type, created_at)
       VALUES ($1, NULL, 'pending', 'system', '2025-04-02T10:00:00Z'), ($1, 'pending', 'approved', 'system', '2025-04-20T00:00:00Z'),
              ($1, 'approved', 'reversed', 'system', '2025-05-10T08:00:00Z')`,
      [conversionId(3)],
    );
    // An approval moves money between the affiliate's own accounts: no line.
    await entry(5, 'approval', ['conversion', conversionId(2)], '2025-04-05T12:00:00.000Z', [
      ['pending EUR', 2_550],
      ['available EUR', -2_550],
    ]);
    // Conversion 4 reversed after it was paid: clawed back.
    await entry(6, 'reversal', ['conversion', conversionId(4)], '2025-04-06T12:30:00.123Z', [
      ['clawback EUR', 1_999],
      ['receivable EUR', -1_999],
    ]);
    const [{ id: adjustmentId }] = await m.query(`INSERT INTO adjustments (affiliate_id, currency, amount, reason, created_by) VALUES ($1, 'EUR', 500, $2, $3) RETURNING id`, [
      affiliate.id,
      '=HYPERLINK("http://evil","x")',
      finance.id,
    ]);
    await entry(7, 'adjustment', ['adjustment', adjustmentId], '2025-04-07T00:00:00.000Z', [
      ['available EUR', -500],
      ['receivable EUR', 500],
    ]);
    // An adjustment entry written by hand, whose cause id is not a uuid: a movement without a reference.
    await entry(11, 'adjustment', ['adjustment', 'HAND-2025-04'], '2025-04-07T09:00:00.000Z', [
      ['available EUR', -100],
      ['receivable EUR', 100],
    ]);
    await conversion(8, { offer: 0, currency: 'JPY', goal: '-minus', txn: 'J,1', sale: 150_000, status: 'approved', at: '2025-04-08T00:00:00.000Z' });
    await commission(8, 'JPY', 1_500, '2025-04-08T00:00:00.000Z');
    await conversion(9, { offer: 1, currency: 'KWD', goal: '+plus', txn: 'K"1"', sale: 1_234_567, status: 'approved', at: '2025-04-09T00:00:00.000Z' });
    await commission(9, 'KWD', 7, '2025-04-09T00:00:00.000Z');
    // After the period: not in it, nor in its closing balance.
    await conversion(10, { offer: 0, currency: 'EUR', goal: 'lead', txn: 'LATER', sale: null, status: 'pending', at: '2025-05-02T00:00:00.000Z' });
    await commission(10, 'EUR', 4_000, '2025-05-02T00:00:00.000Z');
    await m.query(`SET CONSTRAINTS ALL IMMEDIATE`);
    await m.query(
      `UPDATE ledger_accounts a SET balance = s.total
         FROM (SELECT account_id, sum(amount) AS total FROM journal_lines WHERE account_id = ANY($1::uuid[]) GROUP BY account_id) s
        WHERE a.id = s.account_id`,
      [Object.values(acc)],
    );
  });
}

/** The statement of that month as CSV, byte for byte. */
const AWKWARD_CSV = [
  'date,type,currency,offer,goal,txn_id,sale_amount,amount,status,reference',
  '2025-04-01T00:00:00.000Z,opening_balance,EUR,,,,,10.00,,',
  `2025-04-02T10:00:00.000Z,conversion,EUR,"'=Spring, ""best"" deals",'@goal,'=1+2,1234.56,25.50,approved,`,
  // Ties in time in entry id order; the ended period shows the status at its end, not today's "reversed".
  '2025-04-02T10:00:00.000Z,conversion,EUR,Crédit Étudiant — 日本 🚀,sale,"line 1\nline 2, ""quoted""",0.00,0.01,approved,',
  "2025-04-03T00:00:00.000Z,conversion,EUR,Crédit Étudiant — 日本 🚀,'\tgoal,,0.99,19.99,pending,",
  "2025-04-06T12:30:00.123Z,clawback,EUR,Crédit Étudiant — 日本 🚀,'\tgoal,,0.99,-19.99,pending,",
  `2025-04-07T00:00:00.000Z,adjustment,EUR,,,,,5.00,,"'=HYPERLINK(""http://evil"",""x"")"`,
  '2025-04-07T09:00:00.000Z,adjustment,EUR,,,,,1.00,,',
  '2025-05-01T00:00:00.000Z,closing_balance,EUR,,,,,41.51,,',
  '2025-04-01T00:00:00.000Z,opening_balance,JPY,,,,,0,,',
  `2025-04-08T00:00:00.000Z,conversion,JPY,"'=Spring, ""best"" deals",'-minus,"J,1",150000,1500,approved,`,
  '2025-05-01T00:00:00.000Z,closing_balance,JPY,,,,,1500,,',
  '2025-04-01T00:00:00.000Z,opening_balance,KWD,,,,,0.000,,',
  `2025-04-09T00:00:00.000Z,conversion,KWD,Crédit Étudiant — 日本 🚀,'+plus,"K""1""",1234.567,0.007,approved,`,
  '2025-05-01T00:00:00.000Z,closing_balance,KWD,,,,,0.007,,',
  '',
].join('\r\n');

describe('statement CSV export at scale', () => {
  let t: TestApp;
  let affiliate: PrincipalHandle;
  let finance: PrincipalHandle;
  let pool: Pool;
  const path = () => `/v1/statements?affiliateId=${affiliate.id}&from=${FROM_DAY}&to=${TO_DAY}&format=csv`;

  /** Backends of this test's database other than the asking one, with what they are doing. */
  const backends = async (): Promise<{ state: string; query: string; wait_event: string | null }[]> =>
    t.dataSource.query(`SELECT state, query, wait_event FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'`);

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

  it('writes a statement with awkward text in three currencies byte for byte as pinned', async () => {
    const advertiser = await createAdvertiser(t);
    const awkward = await createAffiliate(t, 'Awkward Affiliate');
    const offers = await Promise.all([
      createOffer(t, advertiser, { currency: 'EUR', name: '=Spring, "best" deals' }),
      createOffer(t, advertiser, { currency: 'EUR', name: 'Crédit Étudiant — 日本 🚀' }),
    ]);
    await seedAwkwardHistory(
      t,
      advertiser,
      awkward,
      finance,
      offers.map((o) => o.id),
    );
    const res = await t.http.get(`/v1/statements?affiliateId=${awkward.id}&from=2025-04-01&to=2025-04-30&format=csv`).set(auth(finance.apiKey)).expect(200);
    expect(res.headers['content-type']).toMatch(/^text\/csv/);
    expect(res.text).toBe(AWKWARD_CSV);
    // The JSON reads the same movements (a cursor, not COPY): the statuses at the period's end, the
    // clawback, and both adjustments with their references.
    const json = await t.http.get(`/v1/statements?affiliateId=${awkward.id}&from=2025-04-01&to=2025-04-30`).set(auth(finance.apiKey)).expect(200);
    const eur = json.body.sections.find((s: { currency: string }) => s.currency === 'EUR');
    expect(eur.lines.map((l: { type: string; amount: number; status: string | null; reference: string | null }) => [l.type, l.amount, l.status, l.reference])).toEqual([
      ['conversion', 2_550, 'approved', null],
      ['conversion', 1, 'approved', null],
      ['conversion', 1_999, 'pending', null],
      ['clawback', -1_999, 'pending', null],
      ['adjustment', 500, null, '=HYPERLINK("http://evil","x")'],
      ['adjustment', 100, null, null],
    ]);
    expect(eur.closing).toBe(4_151);
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

  it('holds the export back while the client is not reading, and ends it when the client goes away', async () => {
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
    // The reader stopped: the export waits in its transaction instead of reading on, its COPY
    // either blocked on sending (the API paused its socket) or, when what is left fits in the
    // loopback socket buffers, sent and waiting for the API to take it.
    // (No background job runs a COPY; pg_stat_activity keeps only the start of a long query.)
    const exporting = (b: { query: string }) => /^COPY \(/.test(b.query);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const waiting = (await backends()).filter(exporting);
    expect(waiting).toHaveLength(1);
    expect(waiting[0].state === 'idle in transaction' || (waiting[0].state === 'active' && waiting[0].wait_event === 'ClientWrite')).toBe(true);
    expect(received).toBeLessThan(1_000_000);

    response.destroy();
    await eventually(async () => !(await backends()).some(exporting), 'the transaction to end');
    await eventually(async () => pool.idleCount === pool.totalCount && pool.waitingCount === 0, 'the connection back in the pool');
    // The pool's connections still work, and a new export completes.
    const again = await t.http.get(path()).set(auth(finance.apiKey)).expect(200);
    expect(again.text.split('\r\n')).toHaveLength(LINES + 4);
  }, 60_000);
});
