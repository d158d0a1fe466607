import { CommissionsService } from '../../src/modules/commissions/commissions.service';
import { createTestApp, TestApp } from '../support/create-test-app';
import { drainQueues } from '../support/drain';
import { auth, createAdvertiser, createAffiliate, createFinanceUser, createOffer, OfferHandle, PrincipalHandle } from '../support/factories';
import { expectLedgerVerified } from '../support/ledger';

const FALLBACK = 'https://fallback.example/topped-up-soon?cid={click_id}';
const lead = (revenue: number) => [{ key: 'lead', revenue: { type: 'flat', amount: revenue }, payout: { type: 'flat', amount: Math.floor(revenue / 2) } }];

describe('commission programs: prepaid advertisers', () => {
  let t: TestApp;
  let affiliate: PrincipalHandle;
  let finance: PrincipalHandle;
  let n = 0;
  const unique = (label: string) => `${label}${Date.now().toString(36)}${++n}`.toUpperCase();

  beforeAll(async () => {
    t = await createTestApp({ workers: true, listen: true });
    [affiliate, finance] = await Promise.all([createAffiliate(t), createFinanceUser(t)]);
  });
  afterAll(() => t.close());
  afterEach(async () => {
    await drainQueues(t);
    await expectLedgerVerified(t);
  });

  /** A prepaid advertiser with one USD offer (lead: revenue `revenue`) and a coupon of the affiliate on it. */
  async function prepaid(revenue: number, offer: Record<string, unknown> = {}, alert?: number): Promise<{ adv: PrincipalHandle; offer: OfferHandle; code: string }> {
    const adv = await createAdvertiser(t);
    const res = await t.http
      .patch(`/v1/advertisers/${adv.id}`)
      .set(auth(t.adminKey))
      .send({ billingMode: 'prepaid', ...(alert !== undefined ? { lowBalanceAlert: alert } : {}) })
      .expect(200);
    expect(res.body).toMatchObject({ id: adv.id, billingMode: 'prepaid' });
    const created = await createOffer(t, adv, { lockPeriodDays: 30, fallbackUrl: FALLBACK, goals: lead(revenue), ...offer });
    const code = unique('PRE');
    await t.http.post('/v1/coupons').set(auth(adv.apiKey)).send({ offerId: created.id, affiliateId: affiliate.id, code }).expect(201);
    return { adv, offer: created, code };
  }

  const fund = (adv: PrincipalHandle, amount: number, currency = 'USD') =>
    t.http
      .post(`/v1/advertisers/${adv.id}/fundings`)
      .set(auth(finance.apiKey))
      .send({ amount, currency, reference: unique('wire ') });
  const funding = async (adv: PrincipalHandle) => (await t.http.get(`/v1/advertisers/${adv.id}/funding`).set(auth(adv.apiKey)).expect(200)).body;
  const usd = async (adv: PrincipalHandle) => (await funding(adv)).balances.find((b: { currency: string }) => b.currency === 'USD');
  const postback = (adv: PrincipalHandle, code: string) => t.http.get('/postback').query({ token: adv.postbackToken, coupon: code, goal: 'lead', txn_id: unique('T') });
  const conversion = async (id: string) => (await t.http.get(`/v1/conversions/${id}`).set(auth(t.adminKey)).expect(200)).body;
  const offerOf = async (adv: PrincipalHandle, id: string) => (await t.http.get(`/v1/offers/${id}`).set(auth(adv.apiKey)).expect(200)).body;

  it('reserves on record, spends on approval, releases on rejection and gives back on reversal', async () => {
    const { adv, code } = await prepaid(500);
    expect((await fund(adv, 2000)).status).toBe(201);
    expect(await usd(adv)).toEqual({ currency: 'USD', funded: 2000, reserved: 0, spent: 0, available: 2000 });
    const a = (await postback(adv, code).expect(201)).body;
    expect(await usd(adv)).toEqual({ currency: 'USD', funded: 2000, reserved: 500, spent: 0, available: 1500 });
    await t.http.post(`/v1/conversions/${a.id}/approve`).set(auth(adv.apiKey)).send({}).expect(200);
    expect(await usd(adv)).toEqual({ currency: 'USD', funded: 2000, reserved: 0, spent: 500, available: 1500 });
    const b = (await postback(adv, code).expect(201)).body;
    await t.http.post(`/v1/conversions/${b.id}/reject`).set(auth(adv.apiKey)).send({}).expect(200);
    expect(await usd(adv)).toEqual({ currency: 'USD', funded: 2000, reserved: 0, spent: 500, available: 1500 });
    await drainQueues(t);
    await t.http.post(`/v1/conversions/${a.id}/reverse`).set(auth(adv.apiKey)).send({ reason: 'refund' }).expect(200);
    expect(await usd(adv)).toEqual({ currency: 'USD', funded: 2000, reserved: 0, spent: 0, available: 2000 });
    // Paid from funds: the receivable nets to zero (and no invoice run bills a prepaid result).
    await drainQueues(t);
    const [receivable] = (await t.http.get('/v1/ledger/accounts').query({ ownerId: adv.id, type: 'advertiser_receivable' }).set(auth(finance.apiKey)).expect(200)).body.data;
    expect(receivable?.balance ?? 0).toBe(0);
  });

  it('holds what the funds do not cover, never approves it, pauses the offers at zero, and covers, approves and resumes on a top-up', async () => {
    const { adv, offer, code } = await prepaid(500, { lockPeriodDays: 0 }, 600);
    expect((await offerOf(adv, offer.id)).status).toBe('active');
    await fund(adv, 1000).expect(201);
    const first = (await postback(adv, code).expect(201)).body;
    const second = (await postback(adv, code).expect(201)).body;
    const third = (await postback(adv, code).expect(201)).body;
    expect([first.status, second.status, third.status]).toEqual(['approved', 'approved', 'pending']);
    expect(await conversion(third.id)).toMatchObject({ status: 'pending', hold: 'awaiting_funds' });
    const refused = await t.http.post(`/v1/conversions/${third.id}/approve`).set(auth(adv.apiKey)).send({});
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('awaiting_funds');
    await drainQueues(t);
    await t.app.get(CommissionsService).approveDue();
    expect(await conversion(third.id)).toMatchObject({ status: 'pending', hold: 'awaiting_funds' });
    expect(await usd(adv)).toEqual({ currency: 'USD', funded: 1000, reserved: 0, spent: 1000, available: 0 });
    expect((await funding(adv)).awaitingFunds).toBe(1);
    expect(await offerOf(adv, offer.id)).toMatchObject({ status: 'paused', pausedReason: 'funds' });

    // A click now goes to the fallback URL.
    const link = await t.http.post('/v1/links').set(auth(affiliate.apiKey)).send({ offerId: offer.id }).expect(201);
    const click = await t.http.get(`/c/${link.body.code}`).set('user-agent', 'jest');
    expect(click.status).toBe(302);
    expect(click.headers.location).toMatch(/^https:\/\/fallback\.example\/topped-up-soon/);

    // The low-balance alert went out once (at 500 ≤ 600), to the webhooks feature's topic, and not again at 0.
    // Keyed by the fall (advertiser, currency, when), so a later fall is an event of its own.
    const alerts = await t.dataSource.query(`SELECT aggregate_id, payload FROM outbox WHERE topic = 'webhook.dispatch' AND aggregate_id LIKE $1`, [`${adv.id}:USD:%`]);
    expect(alerts).toHaveLength(1);
    expect(alerts[0].payload).toEqual({ principalId: adv.id, type: 'funding.low', data: { advertiserId: adv.id, currency: 'USD', available: expect.any(Number), threshold: 600 } });

    await fund(adv, 700).expect(201);
    expect(await conversion(third.id)).toMatchObject({ status: 'approved', hold: null });
    expect(await usd(adv)).toEqual({ currency: 'USD', funded: 1700, reserved: 0, spent: 1500, available: 200 });
    expect(await offerOf(adv, offer.id)).toMatchObject({ status: 'active', pausedReason: null });
  });

  it('switched back to invoice: what waited for funds is released, approved by the lock-period job and invoiced, reservations kept consistent', async () => {
    const { adv, offer, code } = await prepaid(500, { lockPeriodDays: 0 });
    await fund(adv, 500).expect(201);
    const paid = (await postback(adv, code).expect(201)).body;
    const waiting = [(await postback(adv, code).expect(201)).body, (await postback(adv, code).expect(201)).body];
    expect(paid.status).toBe('approved');
    for (const c of waiting) expect(await conversion(c.id)).toMatchObject({ status: 'pending', hold: 'awaiting_funds' });
    await drainQueues(t);

    await t.http.patch(`/v1/advertisers/${adv.id}`).set(auth(t.adminKey)).send({ billingMode: 'invoice' }).expect(200);
    expect(await offerOf(adv, offer.id)).toMatchObject({ status: 'active', pausedReason: null });
    await t.app.get(CommissionsService).approveDue(); // the scheduled run may come first: either way
    for (const c of waiting) expect(await conversion(c.id)).toMatchObject({ status: 'approved', hold: null });
    expect((await funding(adv)).awaitingFunds).toBe(0);
    // The one paid from funds stays spent; the released ones were never reserved and are billed by invoice.
    expect(await usd(adv)).toEqual({ currency: 'USD', funded: 500, reserved: 0, spent: 500, available: 0 });
    const rows: { id: string; prepaid: boolean }[] = await t.dataSource.query(`SELECT id, prepaid FROM conversions WHERE advertiser_id = $1`, [adv.id]);
    expect(Object.fromEntries(rows.map((r) => [r.id, r.prepaid]))).toEqual({ [paid.id]: true, [waiting[0].id]: false, [waiting[1].id]: false });
    await drainQueues(t);
    const [receivable] = (await t.http.get('/v1/ledger/accounts').query({ ownerId: adv.id, type: 'advertiser_receivable' }).set(auth(finance.apiKey)).expect(200)).body.data;
    expect(receivable.balance).toBe(1000);
  });

  it('never approves beyond the funds when 200 postbacks race an advertiser running dry', async () => {
    const { adv, code } = await prepaid(100, { lockPeriodDays: 0 });
    await fund(adv, 5000).expect(201); // covers 50
    const answers = await Promise.all(Array.from({ length: 200 }, () => postback(adv, code)));
    expect(answers.filter((a) => a.status !== 201)).toEqual([]);
    await drainQueues(t);
    const rows: { status: string; hold: string | null; n: number }[] = await t.dataSource.query(
      `SELECT status, hold, count(*)::int AS n FROM conversions WHERE advertiser_id = $1 GROUP BY 1, 2 ORDER BY 1, 2`,
      [adv.id],
    );
    expect(rows).toEqual([
      { status: 'approved', hold: null, n: 50 },
      { status: 'pending', hold: 'awaiting_funds', n: 150 },
    ]);
    expect(await usd(adv)).toEqual({ currency: 'USD', funded: 5000, reserved: 0, spent: 5000, available: 0 });
    await fund(adv, 1050).expect(201); // covers 10 more, 50 left over
    const after: { n: number }[] = await t.dataSource.query(`SELECT count(*)::int AS n FROM conversions WHERE advertiser_id = $1 AND status = 'approved'`, [adv.id]);
    expect(after[0].n).toBe(60);
    expect(await usd(adv)).toEqual({ currency: 'USD', funded: 6050, reserved: 0, spent: 6000, available: 50 });
  }, 180_000);

  it('checks roles and input: 400 with the field named and nothing posted, 404 for another advertiser', async () => {
    const { adv } = await prepaid(500);
    const other = await createAdvertiser(t);
    const entries = async () => (await t.dataSource.query(`SELECT count(*)::int AS n FROM journal_entries WHERE cause_type = 'funding'`))[0].n;
    const before = await entries();
    const bad = async (body: Record<string, unknown>, field: string) => {
      const res = await t.http.post(`/v1/advertisers/${adv.id}/fundings`).set(auth(finance.apiKey)).send(body);
      expect(res.status).toBe(400);
      expect(res.body.error.details.map((d: { field: string }) => d.field)).toContain(field);
    };
    await bad({ amount: 500, currency: 'EUR', reference: 'wire' }, 'currency');
    await bad({ amount: 0, currency: 'USD', reference: 'wire' }, 'amount');
    await bad({ amount: -5, currency: 'USD', reference: 'wire' }, 'amount');
    await bad({ amount: 5, currency: 'usd', reference: 'wire' }, 'currency');
    await bad({ amount: 5, currency: 'USD' }, 'reference');
    const invoiceBilled = await t.http.post(`/v1/advertisers/${other.id}/fundings`).set(auth(finance.apiKey)).send({ amount: 5, currency: 'USD', reference: 'x' });
    expect(invoiceBilled.status).toBe(400);
    expect(await entries()).toBe(before);

    await t.http.post(`/v1/advertisers/${adv.id}/fundings`).set(auth(adv.apiKey)).send({ amount: 5, currency: 'USD', reference: 'x' }).expect(403);
    await t.http.post(`/v1/advertisers/${adv.id}/fundings`).set(auth(affiliate.apiKey)).send({ amount: 5, currency: 'USD', reference: 'x' }).expect(403);
    await t.http.get(`/v1/advertisers/${adv.id}/funding`).set(auth(other.apiKey)).expect(404);
    await t.http.get(`/v1/advertisers/${adv.id}/funding`).set(auth(affiliate.apiKey)).expect(403);
    for (const key of [finance.apiKey, t.adminKey]) expect((await t.http.get(`/v1/advertisers/${adv.id}/funding`).set(auth(key)).expect(200)).body.billingMode).toBe('prepaid');
    await t.http.patch(`/v1/advertisers/${adv.id}`).set(auth(adv.apiKey)).send({ billingMode: 'invoice' }).expect(403);
    await t.http.patch(`/v1/advertisers/${adv.id}`).set(auth(finance.apiKey)).send({ billingMode: 'invoice' }).expect(403);
    const badMode = await t.http.patch(`/v1/advertisers/${adv.id}`).set(auth(t.adminKey)).send({ billingMode: 'credit' });
    expect(badMode.status).toBe(400);
    expect(badMode.body.error.details[0].field).toBe('billingMode');
    await t.http.patch(`/v1/advertisers/${affiliate.id}`).set(auth(t.adminKey)).send({ billingMode: 'prepaid' }).expect(404);
    await t.http.post(`/v1/advertisers/00000000-0000-4000-8000-000000000000/fundings`).set(auth(finance.apiKey)).send({ amount: 5, currency: 'USD', reference: 'x' }).expect(404);
  });
});
