import { StatementsService } from '../../src/modules/statements/statements.service';
import { createTestApp, TestApp } from '../support/create-test-app';
import { drainQueues } from '../support/drain';
import { auth, createAdvertiser, createAffiliate, createFinanceUser, createOffer, OfferHandle, PrincipalHandle } from '../support/factories';
import { expectLedgerVerified } from '../support/ledger';
import { convert } from '../support/network';
import { StripeEmulator } from '../support/stripe-emulator/emulator';

const WEBHOOK_SECRET = 'whsec_test_statements_0123456789';

/** A CSV body as rows of cells (our cells never contain newlines). */
function parseCsv(text: string): string[][] {
  return text
    .trim()
    .split('\r\n')
    .map((line) => (line.match(/("([^"]|"")*"|[^,]*)(,|$)/g) ?? []).slice(0, -1).map((cell) => cell.replace(/,$/, '').replace(/^"|"$/g, '').replace(/""/g, '"')));
}

describe('commission statements and period summaries', () => {
  let t: TestApp;
  let stripe: StripeEmulator;
  let advertiser: PrincipalHandle;
  let affiliate: PrincipalHandle & { accountId?: string };
  let other: PrincipalHandle;
  let finance: PrincipalHandle;
  let usd: OfferHandle;
  let eur: OfferHandle;
  const today = () => new Date().toISOString().slice(0, 10);
  const statement = (key: string, query: Record<string, string>) =>
    t.http
      .get('/v1/statements')
      .query({ from: today(), to: today(), ...query })
      .set(auth(key));

  async function settle(): Promise<void> {
    await stripe.flushWebhooks();
    await drainQueues(t);
  }

  beforeAll(async () => {
    stripe = new StripeEmulator({ webhookSecret: WEBHOOK_SECRET });
    const { url } = await stripe.start();
    t = await createTestApp({ workers: true, listen: true, env: { STRIPE_SECRET_KEY: 'sk_test_afflux', STRIPE_API_URL: url, STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET } });
    stripe.setWebhookUrl(`${t.baseUrl}/webhooks/stripe`);
    [advertiser, affiliate, other, finance] = await Promise.all([createAdvertiser(t), createAffiliate(t, 'Trail Blog'), createAffiliate(t), createFinanceUser(t)]);
    usd = await createOffer(t, advertiser, { lockPeriodDays: 0, name: '=HYPERLINK("http://evil.example","win")' });
    eur = await createOffer(t, advertiser, { currency: 'EUR' });
    const onboarding = await t.http.post('/v1/payout-accounts').set(auth(affiliate.apiKey)).send({}).expect(201);
    stripe.completeOnboarding(onboarding.body.accountId);

    // USD: 5 approved leads (1500), one sale of 80.00 (800 at 10%), a payout, then a paid lead reversed (clawback).
    const usdIds = [];
    for (let i = 0; i < 5; i++) usdIds.push((await convert(t, advertiser, affiliate, usd, { txn_id: i === 0 ? '+cmd|calc' : `U-${i}` })).id);
    await convert(t, advertiser, affiliate, usd, { goal: 'sale', amount: '80.00', txn_id: 'U-SALE' });
    await settle();
    await t.http.post('/v1/payout-runs').set(auth(finance.apiKey)).send({ currency: 'USD' }).expect(202);
    await settle();
    await t.http.post(`/v1/conversions/${usdIds[1]}/reverse`).set(auth(advertiser.apiKey)).send({ reason: 'refund' }).expect(200);
    // EUR: two pending leads, one rejected.
    await convert(t, advertiser, affiliate, eur, { txn_id: 'E-1' });
    const rejected = await convert(t, advertiser, affiliate, eur, { txn_id: 'E-2' });
    await settle(); // the commission is posted before the rejection undoes it
    await t.http.post(`/v1/conversions/${rejected.id}/reject`).set(auth(advertiser.apiKey)).send({}).expect(200);
    await settle();
  });
  afterAll(async () => {
    await t.close();
    await stripe.stop();
  });
  afterEach(() => expectLedgerVerified(t));

  it('agrees with the ledger: opening + movements = closing = the balance', async () => {
    const res = await statement(affiliate.apiKey, {}).expect(200);
    const earnings = (await t.http.get('/v1/earnings').set(auth(affiliate.apiKey)).expect(200)).body.balances;
    expect(res.body.sections.map((s: { currency: string }) => s.currency)).toEqual(['EUR', 'USD']);
    for (const section of res.body.sections) {
      const sum = section.lines.reduce((acc: number, l: { amount: number }) => acc + l.amount, 0);
      expect(section.opening + sum).toBe(section.closing);
      const e = earnings.find((b: { currency: string }) => b.currency === section.currency);
      expect(section.closing).toBe(e.pending + e.available - e.clawback);
    }
    const usdSection = res.body.sections.find((s: { currency: string }) => s.currency === 'USD');
    expect(usdSection).toMatchObject({ opening: 0, closing: -300, totals: { earned: 2300, reversed: 0, clawbacks: -300, paid: -2300, adjustments: 0 } });
    const payout = usdSection.lines.find((l: { type: string }) => l.type === 'payout');
    expect(payout).toMatchObject({ amount: -2300, reference: expect.stringMatching(/^tr_/) });
    const sale = usdSection.lines.find((l: { txnId: string }) => l.txnId === 'U-SALE');
    expect(sale).toMatchObject({ type: 'conversion', goal: 'sale', saleAmount: 8000, amount: 800, status: 'paid' });
    const eurSection = res.body.sections.find((s: { currency: string }) => s.currency === 'EUR');
    expect(eurSection).toMatchObject({ opening: 0, closing: 300, totals: { earned: 600, reversed: -300 } });
  });

  it('streams CSV with a header, balances, RFC 4180 quoting and formula-injection protection', async () => {
    const res = await statement(affiliate.apiKey, { format: 'csv' }).expect(200);
    expect(res.headers['content-type']).toMatch(/^text\/csv/);
    const rows = parseCsv(res.text);
    expect(rows[0]).toEqual(['date', 'type', 'currency', 'offer', 'goal', 'txn_id', 'sale_amount', 'amount', 'status', 'reference']);
    expect(rows[1]).toEqual(expect.arrayContaining(['opening_balance', 'EUR', '0.00']));
    expect(rows.at(-1)).toEqual(expect.arrayContaining(['closing_balance', 'USD', '-3.00']));
    const hostile = rows.find((r) => r[5].includes('cmd'));
    expect(hostile?.[5]).toBe("'+cmd|calc");
    expect(hostile?.[3]).toBe(`'=HYPERLINK("http://evil.example","win")`);
    expect(res.text).toContain('"\'=HYPERLINK(""http://evil.example"",""win"")"');
    expect(rows.find((r) => r[1] === 'payout')?.[7]).toBe('-23.00');
  });

  it('renders a PDF', async () => {
    const res = await statement(finance.apiKey, { format: 'pdf', affiliateId: affiliate.id })
      .buffer(true)
      .parse((r, cb) => {
        const chunks: Buffer[] = [];
        r.on('data', (c: Buffer) => chunks.push(c));
        r.on('end', () => cb(null, Buffer.concat(chunks)));
      });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/pdf');
    expect((res.body as Buffer).subarray(0, 5).toString()).toBe('%PDF-');
  });

  it('answers an empty period with no sections, and honours the time zone for day boundaries', async () => {
    const empty = await statement(affiliate.apiKey, { from: '2020-01-01', to: '2020-01-31' }).expect(200);
    expect(empty.body.sections).toEqual([]);
    const emptyCsv = await statement(affiliate.apiKey, { from: '2020-01-01', to: '2020-01-31', format: 'csv' }).expect(200);
    expect(parseCsv(emptyCsv.text)).toHaveLength(1);

    // Europe/Berlin springs forward on 2026-03-29 (a 23-hour day) and falls back on 2026-10-25 (25 hours).
    const statements = t.app.get(StatementsService);
    const spring = await statements.period('2026-03-29', '2026-03-29', 'Europe/Berlin');
    expect(spring.to.getTime() - spring.from.getTime()).toBe(23 * 3600 * 1000);
    expect(spring.from.toISOString()).toBe('2026-03-28T23:00:00.000Z');
    const autumn = await statements.period('2026-10-25', '2026-10-25', 'Europe/Berlin');
    expect(autumn.to.getTime() - autumn.from.getTime()).toBe(25 * 3600 * 1000);

    // "Today" ends at different instants on either side of the date line: far behind UTC, today's
    // activity (UTC) may already be tomorrow; the union of both neighbours always holds it all.
    const now = new Date();
    const local = (tz: string) => new Intl.DateTimeFormat('en-CA', { timeZone: tz }).format(now);
    const behind = await statement(affiliate.apiKey, { from: local('Pacific/Pago_Pago'), to: local('Pacific/Pago_Pago'), timezone: 'Pacific/Pago_Pago' }).expect(200);
    const ahead = await statement(affiliate.apiKey, { from: local('Pacific/Kiritimati'), to: local('Pacific/Kiritimati'), timezone: 'Pacific/Kiritimati' }).expect(200);
    const count = (body: { sections: { lines: unknown[] }[] }) => body.sections.reduce((n, s) => n + s.lines.length, 0);
    expect(count(behind.body)).toBe(count((await statement(affiliate.apiKey, {})).body));
    expect(count(ahead.body)).toBe(count(behind.body));
    await statement(affiliate.apiKey, { timezone: 'Mars/Olympus' }).expect(400);
  });

  it('scopes: affiliates their own, staff anyone, advertisers none', async () => {
    await statement(affiliate.apiKey, { affiliateId: other.id }).expect(404);
    const own = await statement(other.apiKey, {}).expect(200);
    expect(own.body.affiliate.id).toBe(other.id);
    await statement(finance.apiKey, {}).expect(400);
    await statement(t.adminKey, { affiliateId: affiliate.id }).expect(200);
    await statement(t.adminKey, { affiliateId: advertiser.id }).expect(404);
    await statement(advertiser.apiKey, { affiliateId: affiliate.id }).expect(403);
    for (const query of [{ from: '2026-13-01' }, { to: 'yesterday' }, { format: 'xml' }, { currency: 'usd' }, { from: '2026-02-01', to: '2026-01-01' }]) {
      await statement(affiliate.apiKey, query as unknown as Record<string, string>).expect(400);
    }
  });

  it('summarises every affiliate and advertiser for finance, in JSON and CSV', async () => {
    const affiliates = await t.http.get('/v1/statements/summary/affiliates').query({ from: today(), to: today() }).set(auth(finance.apiKey)).expect(200);
    const mine = affiliates.body.data.filter((r: { affiliateId: string }) => r.affiliateId === affiliate.id);
    expect(mine).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ currency: 'USD', earned: 2300, reversed: 300, paid: 2300, balance: -300 }),
        expect.objectContaining({ currency: 'EUR', earned: 600, reversed: 300, paid: 0, balance: 300 }),
      ]),
    );
    const advertisers = await t.http.get('/v1/statements/summary/advertisers').query({ from: today(), to: today() }).set(auth(finance.apiKey)).expect(200);
    const row = advertisers.body.data.find((r: { advertiserId: string; currency: string }) => r.advertiserId === advertiser.id && r.currency === 'USD');
    // Revenue 5 × 500 + 15% of 80.00 = 3700, minus the reversed lead (500); margin 3700 − 2300 − (500 − 300).
    expect(row).toMatchObject({ billed: 0, paid: 0, outstanding: 3200, margin: 1200 });
    const csv = await t.http.get('/v1/statements/summary/advertisers').query({ from: today(), to: today(), format: 'csv' }).set(auth(t.adminKey)).expect(200);
    expect(parseCsv(csv.text)[0]).toEqual(['advertiser_id', 'name', 'currency', 'billed', 'paid', 'outstanding', 'network_margin']);
    for (const key of [affiliate.apiKey, advertiser.apiKey]) {
      await t.http.get('/v1/statements/summary/affiliates').query({ from: today(), to: today() }).set(auth(key)).expect(403);
    }
  });

  it('gives a statement of an ended period the same bytes after a later reversal and adjustment', async () => {
    const closed = await createAffiliate(t, 'Closed Month');
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await convert(t, advertiser, closed, usd, { txn_id: `CLOSED-${i}` })).id);
    await settle();
    // Last month, as if it had happened then: the journal is append-only, so its guards are off
    // for this one transaction of the test.
    const now = new Date();
    const from = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1));
    const to = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 0));
    const at = new Date(from.getTime() + 14 * 86_400_000 + 12 * 3_600_000);
    await t.dataSource.transaction(async (m) => {
      await m.query(`SET LOCAL session_replication_role = replica`);
      await m.query(`UPDATE journal_lines SET created_at = $2 WHERE entry_id IN (SELECT id FROM journal_entries WHERE cause_type = 'conversion' AND cause_id = ANY($1::text[]))`, [
        ids,
        at,
      ]);
      await m.query(`UPDATE journal_entries SET created_at = $2 WHERE cause_type = 'conversion' AND cause_id = ANY($1::text[])`, [ids, at]);
      await m.query(`UPDATE conversion_events SET created_at = $2 WHERE conversion_id = ANY($1::uuid[])`, [ids, at]);
      await m.query(`UPDATE conversions SET created_at = $2, approved_at = $2 WHERE id = ANY($1::uuid[])`, [ids, at]);
    });
    const download = () =>
      statement(finance.apiKey, { affiliateId: closed.id, from: from.toISOString().slice(0, 10), to: to.toISOString().slice(0, 10), format: 'csv' }).expect(200);
    const before = await download();
    expect(before.text).toContain('CLOSED-0');
    await t.http.post(`/v1/conversions/${ids[0]}/reverse`).set(auth(advertiser.apiKey)).send({ reason: 'late refund' }).expect(200);
    await t.http.post('/v1/adjustments').set(auth(finance.apiKey)).send({ affiliateId: closed.id, currency: 'USD', amount: -50, reason: 'fee' }).expect(201);
    await settle();
    const after = await download();
    expect(after.text).toBe(before.text);
  });

  it('counts an entry posted in the last half millisecond before a boundary in one period only', async () => {
    // Entries keep milliseconds (rounded) and their lines microseconds: find a commission whose
    // entry time was rounded up past its lines' and cut two periods exactly there.
    const edge = await createAffiliate(t);
    let boundary: Date | null = null;
    for (let i = 0; i < 40 && !boundary; i++) {
      const conversion = await convert(t, advertiser, edge, usd, { txn_id: `EDGE-${i}` });
      await drainQueues(t);
      const [row] = await t.dataSource.query(
        `SELECT e.created_at AS at, bool_and(e.created_at > l.created_at) AS rounded_up
           FROM journal_entries e JOIN journal_lines l ON l.entry_id = e.id
          WHERE e.cause_type = 'conversion' AND e.cause_id = $1 AND e.kind = 'commission' GROUP BY e.id`,
        [conversion.id],
      );
      if (row.rounded_up) boundary = row.at;
    }
    if (!boundary) throw new Error('no entry of 40 was rounded up (each is, half the time)');
    const service = t.app.get(StatementsService);
    const affiliateRow = await service.affiliateFor({ id: edge.id, role: 'affiliate' } as never, undefined);
    const hour = 3_600_000;
    const before = await service.model(affiliateRow, { from: new Date(boundary.getTime() - hour), to: boundary, timezone: 'UTC' });
    const after = await service.model(affiliateRow, { from: boundary, to: new Date(boundary.getTime() + hour), timezone: 'UTC' });
    const usdOf = (model: typeof before) => model.sections.find((s) => s.currency === 'USD');
    for (const section of [usdOf(before), usdOf(after)]) {
      if (section) expect(section.opening + section.lines.reduce((acc, l) => acc + l.amount, 0)).toBe(section.closing);
    }
    expect(usdOf(after)?.opening ?? 0).toBe(usdOf(before)?.closing ?? 0);
  });
});
