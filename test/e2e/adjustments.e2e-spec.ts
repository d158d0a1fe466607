import { randomUUID } from 'node:crypto';
import { createTestApp, TestApp } from '../support/create-test-app';
import { drainQueues } from '../support/drain';
import { auth, createAdvertiser, createAffiliate, createFinanceUser, createOffer, OfferHandle, PrincipalHandle } from '../support/factories';
import { expectLedgerVerified } from '../support/ledger';
import { convert } from '../support/network';

/** POST/GET /v1/adjustments: finance's manual corrections of an affiliate's available balance. */
describe('adjustments', () => {
  let t: TestApp;
  let advertiser: PrincipalHandle;
  let finance: PrincipalHandle;
  let affiliate: PrincipalHandle;
  let other: PrincipalHandle;
  let offer: OfferHandle;

  const adjust = (key: string, body: Record<string, unknown>, idempotencyKey?: string) => {
    const req = t.http.post('/v1/adjustments').set(auth(key));
    if (idempotencyKey !== undefined) req.set('Idempotency-Key', idempotencyKey);
    return req.send(body);
  };
  const balance = async (who: PrincipalHandle, currency = 'USD') =>
    (await t.http.get('/v1/earnings').set(auth(who.apiKey)).expect(200)).body.balances.find((b: { currency: string }) => b.currency === currency);
  const counts = async () => {
    const [row] = await t.dataSource.query(
      `SELECT (SELECT count(*) FROM adjustments)::int AS adjustments, (SELECT count(*) FROM journal_entries WHERE cause_type = 'adjustment')::int AS entries`,
    );
    return row;
  };

  beforeAll(async () => {
    t = await createTestApp({ workers: true });
    [advertiser, finance, affiliate, other] = await Promise.all([createAdvertiser(t), createFinanceUser(t), createAffiliate(t), createAffiliate(t)]);
    offer = await createOffer(t, advertiser, { lockPeriodDays: 0 });
  });
  afterAll(() => t.close());
  afterEach(async () => {
    await drainQueues(t);
    await expectLedgerVerified(t);
  });

  it('credits an affiliate, posted against network_adjustments, and answers the adjustment', async () => {
    const res = await adjust(finance.apiKey, { affiliateId: affiliate.id, currency: 'USD', amount: 500, reason: 'Goodwill credit, ticket #4411' }).expect(201);
    expect(res.body).toEqual({
      id: expect.any(String),
      affiliateId: affiliate.id,
      currency: 'USD',
      amount: 500,
      clawback: 0,
      reason: 'Goodwill credit, ticket #4411',
      createdAt: expect.any(String),
      createdBy: finance.id,
    });
    expect(await balance(affiliate)).toMatchObject({ available: 500, clawback: 0 });
    const entries = await t.http.get('/v1/ledger/entries').query({ causeType: 'adjustment', causeId: res.body.id }).set(auth(finance.apiKey)).expect(200);
    expect(entries.body.data).toHaveLength(1);
    expect(entries.body.data[0].lines.map((l: { accountType: string; amount: number }) => `${l.accountType} ${l.amount}`).sort()).toEqual([
      'affiliate_available -500',
      'network_adjustments 500',
    ]);
    const admin = await adjust(t.adminKey, { affiliateId: affiliate.id, currency: 'EUR', amount: 100, reason: 'admin too' }).expect(201);
    expect(admin.body.createdBy).toEqual(expect.any(String));
  });

  it('debits beyond what is available: the rest becomes a clawback, available never goes below zero', async () => {
    const who = await createAffiliate(t);
    await convert(t, advertiser, who, offer);
    await drainQueues(t);
    expect(await balance(who)).toMatchObject({ available: 300 });
    const res = await adjust(finance.apiKey, { affiliateId: who.id, currency: 'USD', amount: -500, reason: 'Duplicate commission' }).expect(201);
    expect(res.body).toMatchObject({ amount: -500, clawback: 200 });
    expect(await balance(who)).toMatchObject({ available: 0, clawback: 200 });
  });

  it('is idempotent by Idempotency-Key and by a client id; a key reused for another request is a 409', async () => {
    const body = { affiliateId: affiliate.id, currency: 'USD', amount: 250, reason: 'Late bonus' };
    const before = await counts();
    const results = await Promise.all(Array.from({ length: 5 }, () => adjust(finance.apiKey, body, 'bonus-2026-11')));
    for (const r of results) expect(r.status).toBe(201);
    expect(new Set(results.map((r) => r.body.id)).size).toBe(1);
    expect(await counts()).toEqual({ adjustments: before.adjustments + 1, entries: before.entries + 1 });
    const reused = await adjust(finance.apiKey, { ...body, amount: 999 }, 'bonus-2026-11').expect(409);
    expect(reused.body.error.code).toBe('idempotency_key_reused');
    const id = randomUUID();
    const first = await adjust(finance.apiKey, { ...body, id }).expect(201);
    const again = await adjust(finance.apiKey, { ...body, id }).expect(201);
    expect([first.body.id, again.body.id]).toEqual([id, id]);
    expect(await counts()).toEqual({ adjustments: before.adjustments + 2, entries: before.entries + 2 });
  });

  it('refuses bad input with 400 naming the field, posting nothing', async () => {
    const good = { affiliateId: affiliate.id, currency: 'USD', amount: 100, reason: 'ok' };
    const before = await counts();
    const cases: [Record<string, unknown>, string][] = [
      [{ ...good, amount: 0 }, 'amount'],
      [{ ...good, amount: 1.5 }, 'amount'],
      [{ ...good, amount: '100' }, 'amount'],
      [{ ...good, amount: 2 ** 53 }, 'amount'],
      [{ ...good, currency: 'usd' }, 'currency'],
      [{ ...good, currency: 'XXX' }, 'currency'],
      [{ ...good, reason: '' }, 'reason'],
      [{ ...good, reason: '   ' }, 'reason'],
      [{ ...good, reason: 'x'.repeat(501) }, 'reason'],
      [{ affiliateId: affiliate.id, currency: 'USD', amount: 100 }, 'reason'],
      [{ ...good, affiliateId: 'nope' }, 'affiliateId'],
      [{ ...good, id: 'not-a-uuid' }, 'id'],
      [{ ...good, extra: 1 }, 'extra'],
    ];
    for (const [body, field] of cases) {
      const res = await adjust(finance.apiKey, body).expect(400);
      expect(res.body.error.details.map((d: { field: string }) => d.field)).toContain(field);
    }
    const badKey = await adjust(finance.apiKey, good, 'k'.repeat(256)).expect(400);
    expect(badKey.body.error.details.map((d: { field: string }) => d.field)).toEqual(['Idempotency-Key']);
    expect(await counts()).toEqual(before);
  });

  it('scopes by role: finance and admin write; affiliates read their own; advertisers nothing; foreign ids 404', async () => {
    const body = { affiliateId: affiliate.id, currency: 'USD', amount: 10, reason: 'scoping' };
    const before = await counts();
    for (const key of [advertiser.apiKey, affiliate.apiKey]) await adjust(key, body).expect(403);
    await t.http.post('/v1/adjustments').send(body).expect(401);
    await adjust(finance.apiKey, { ...body, affiliateId: randomUUID() }).expect(404);
    await adjust(finance.apiKey, { ...body, affiliateId: advertiser.id }).expect(404);
    expect(await counts()).toEqual(before);

    const mine = await adjust(finance.apiKey, body).expect(201);
    const theirs = await adjust(finance.apiKey, { ...body, affiliateId: other.id }).expect(201);
    const own = await t.http.get('/v1/adjustments').set(auth(affiliate.apiKey)).expect(200);
    expect(own.body.data.length).toBeGreaterThan(0);
    expect(own.body.data.every((a: { affiliateId: string }) => a.affiliateId === affiliate.id)).toBe(true);
    await t.http.get('/v1/adjustments').query({ affiliateId: other.id }).set(auth(affiliate.apiKey)).expect(404);
    await t.http.get(`/v1/adjustments/${mine.body.id}`).set(auth(affiliate.apiKey)).expect(200);
    await t.http.get(`/v1/adjustments/${theirs.body.id}`).set(auth(affiliate.apiKey)).expect(404);
    await t.http.get(`/v1/adjustments/${randomUUID()}`).set(auth(finance.apiKey)).expect(404);
    for (const path of ['/v1/adjustments', `/v1/adjustments/${mine.body.id}`]) await t.http.get(path).set(auth(advertiser.apiKey)).expect(403);
    const forOther = await t.http.get('/v1/adjustments').query({ affiliateId: other.id }).set(auth(finance.apiKey)).expect(200);
    expect(forOther.body.data.map((a: { id: string }) => a.id)).toEqual([theirs.body.id]);
    const all = await t.http.get('/v1/adjustments').set(auth(t.adminKey)).expect(200);
    expect(all.body.data.map((a: { id: string }) => a.id)).toEqual(expect.arrayContaining([mine.body.id, theirs.body.id]));
  });

  it('shows each adjustment on the statement, with its reason', async () => {
    const who = await createAffiliate(t);
    await adjust(finance.apiKey, { affiliateId: who.id, currency: 'USD', amount: 700, reason: 'Migration from the old network' }).expect(201);
    await adjust(finance.apiKey, { affiliateId: who.id, currency: 'USD', amount: -200, reason: 'Correction' }).expect(201);
    const today = new Date().toISOString().slice(0, 10);
    const res = await t.http.get('/v1/statements').query({ affiliateId: who.id, from: today, to: today }).set(auth(finance.apiKey)).expect(200);
    const [section] = res.body.sections;
    expect(section.lines.map((l: { type: string; amount: number; reference: string }) => [l.type, l.amount, l.reference])).toEqual([
      ['adjustment', 700, 'Migration from the old network'],
      ['adjustment', -200, 'Correction'],
    ]);
    expect(section).toMatchObject({ opening: 0, closing: 500, totals: { adjustments: 500 } });
  });
});
