import { CommissionsService } from '../../src/modules/commissions/commissions.service';
import { LedgerService } from '../../src/modules/ledger/ledger.service';
import { createTestApp, TestApp } from '../support/create-test-app';
import { drainQueues } from '../support/drain';
import { auth, createAdvertiser, createAffiliate, createFinanceUser, createOffer, OfferHandle, PrincipalHandle } from '../support/factories';
import { expectLedgerVerified } from '../support/ledger';
import { closedPort, PartnerPostbackReceiver } from '../support/partner-postback-receiver';

describe('commissions through the outbox, BullMQ and the ledger', () => {
  let t: TestApp;
  let advertiser: PrincipalHandle;
  let affiliate: PrincipalHandle;
  let otherAffiliate: PrincipalHandle;
  let finance: PrincipalHandle;
  let usd: OfferHandle;
  let eur: OfferHandle;
  let receiver: PartnerPostbackReceiver;
  let receiverUrl: string;
  let n = 0;
  const txn = () => `C-${Date.now().toString(36)}-${++n}`;

  async function clickId(aff: PrincipalHandle, offerId: string): Promise<string> {
    const link = await t.http.post('/v1/links').set(auth(aff.apiKey)).send({ offerId, sub1: 'campaign-7' }).expect(201);
    const res = await t.http.get(`/c/${link.body.code}`).query({ sub2: 'blue & green' }).expect(302);
    return new URL(res.headers.location).searchParams.get('cid') as string;
  }

  async function convert(aff: PrincipalHandle, offer: OfferHandle, params: Record<string, string> = {}): Promise<string> {
    const res = await t.http.get('/postback').query({ token: advertiser.postbackToken, click_id: await clickId(aff, offer.id), goal: 'lead', txn_id: txn(), ...params });
    expect(res.status).toBe(201);
    return res.body.id;
  }

  async function earnings(aff: PrincipalHandle) {
    const res = await t.http.get('/v1/earnings').set(auth(aff.apiKey)).expect(200);
    return Object.fromEntries(res.body.balances.map((b: { currency: string }) => [b.currency, b]));
  }

  beforeAll(async () => {
    receiver = new PartnerPostbackReceiver();
    receiverUrl = await receiver.start();
    t = await createTestApp({
      workers: true,
      env: { POSTBACK_ALLOW_PRIVATE_NETWORKS: 'true', POSTBACK_RETRY_BASE_MS: '20', POSTBACK_TIMEOUT_MS: '300', POSTBACK_MAX_ATTEMPTS: '3' },
    });
    [advertiser, affiliate, otherAffiliate, finance] = await Promise.all([createAdvertiser(t), createAffiliate(t), createAffiliate(t), createFinanceUser(t)]);
    usd = await createOffer(t, advertiser);
    eur = await createOffer(t, advertiser, { currency: 'EUR', lockPeriodDays: 0 });
  });
  afterAll(async () => {
    await t.close();
    await receiver.stop();
  });
  afterEach(() => expectLedgerVerified(t));

  it('posts commission, approval and reversal, and the earnings follow', async () => {
    const a = await convert(affiliate, usd);
    const b = await convert(affiliate, usd);
    const c = await convert(affiliate, eur);
    await drainQueues(t);
    expect(await earnings(affiliate)).toEqual({
      USD: { currency: 'USD', pending: 600, available: 0, paid: 0, clawback: 0 },
      EUR: { currency: 'EUR', pending: 0, available: 300, paid: 0, clawback: 0 },
    });

    await t.http.post(`/v1/conversions/${a}/approve`).set(auth(advertiser.apiKey)).send({}).expect(200);
    await t.http.post(`/v1/conversions/${b}/reject`).set(auth(advertiser.apiKey)).send({ reason: 'duplicate lead' }).expect(200);
    await t.http.post(`/v1/conversions/${c}/reverse`).set(auth(finance.apiKey)).send({ reason: 'refund' }).expect(200);
    await drainQueues(t);
    expect(await earnings(affiliate)).toEqual({ USD: { currency: 'USD', pending: 0, available: 300, paid: 0, clawback: 0 } });

    const entries = await t.http.get('/v1/ledger/entries').query({ causeId: a }).set(auth(finance.apiKey)).expect(200);
    expect(entries.body.data.map((e: { kind: string }) => e.kind).sort()).toEqual(['approval', 'commission']);
  });

  it('approves conversions past their lock period in the scheduled job', async () => {
    const id = await convert(otherAffiliate, usd);
    await drainQueues(t);
    await t.dataSource.query(`UPDATE conversions SET approve_after = now() - interval '1 second' WHERE id = $1`, [id]);
    const approved = await t.app.get(CommissionsService).approveDue();
    expect(approved).toBe(1);
    await drainQueues(t);
    const view = await t.http.get(`/v1/conversions/${id}`).set(auth(t.adminKey)).expect(200);
    expect(view.body.status).toBe('approved');
    expect(view.body.events.at(-1)).toMatchObject({ actorType: 'system', toStatus: 'approved' });
    expect((await earnings(otherAffiliate)).USD).toMatchObject({ pending: 0, available: 300 });
  });

  it('never approves a held conversion in the lock-period job, and approves it once the hold is lifted', async () => {
    const id = await convert(otherAffiliate, usd);
    await drainQueues(t);
    await t.dataSource.query(`UPDATE conversions SET approve_after = now() - interval '1 second', hold = 'review' WHERE id = $1`, [id]);
    expect(await t.app.get(CommissionsService).approveDue()).toBe(0);
    const held = await t.http.get(`/v1/conversions/${id}`).set(auth(t.adminKey)).expect(200);
    expect(held.body).toMatchObject({ status: 'pending', hold: 'review' });

    await t.dataSource.query(`UPDATE conversions SET hold = NULL WHERE id = $1`, [id]);
    expect(await t.app.get(CommissionsService).approveDue()).toBe(1);
    await drainQueues(t);
  });

  it('runs a commission job twice, or after a crash half-way, and posts once', async () => {
    const id = await convert(affiliate, usd);
    await drainQueues(t);
    const commissions = t.app.get(CommissionsService);
    await Promise.all([commissions.postMissing(id), commissions.postMissing(id), commissions.postMissing(id)]);

    // A crash after the first write and before commit: the transaction rolls back, the retry posts it all once.
    // (An approval posts in its own request now, so the job that can crash is the commission's.)
    const other = await convert(otherAffiliate, usd);
    const ledger = t.app.get(LedgerService);
    const realPost = ledger.postMany.bind(ledger);
    let crashed = false;
    const spy = jest.spyOn(ledger, 'postMany').mockImplementation(async (manager, inputs) => {
      const result = await realPost(manager, inputs);
      if (!crashed) {
        crashed = true;
        throw new Error('worker killed half-way');
      }
      return result;
    });
    try {
      await drainQueues(t);
    } finally {
      spy.mockRestore();
    }
    expect(crashed).toBe(true);
    await t.http.post(`/v1/conversions/${other}/approve`).set(auth(advertiser.apiKey)).send({}).expect(200);
    await drainQueues(t);
    const kinds = await t.dataSource.query(`SELECT kind FROM journal_entries WHERE cause_id = $1 ORDER BY kind`, [other]);
    expect(kinds.map((k: { kind: string }) => k.kind)).toEqual(['approval', 'commission']);
  });

  it('parks an outbox row with an unknown topic, with its error, and relays the rows behind it', async () => {
    const [poison] = await t.dataSource.query(`INSERT INTO outbox (topic, aggregate_id) VALUES ('no.such.topic', 'x') RETURNING id`);
    const id = await convert(affiliate, usd);
    await drainQueues(t);
    const kinds = await t.dataSource.query(`SELECT kind FROM journal_entries WHERE cause_id = $1`, [id]);
    expect(kinds.map((k: { kind: string }) => k.kind)).toEqual(['commission']);
    const [parked] = await t.dataSource.query(`SELECT relayed_at, parked_at, error FROM outbox WHERE id = $1`, [poison.id]);
    expect(parked).toMatchObject({ relayed_at: null, parked_at: expect.any(Date), error: expect.stringContaining('unknown topic no.such.topic') });
    const metrics = await t.http.get('/metrics').set(auth(t.adminKey)).expect(200);
    expect(metrics.text).toMatch(/^afx_outbox_parked_rows 1$/m);
    expect(metrics.text).toMatch(/^afx_outbox_oldest_unrelayed_age_seconds \d/m);
  });

  describe('outgoing postbacks', () => {
    async function attempts(aff: PrincipalHandle, conversionId: string) {
      const res = await t.http.get('/v1/postback-attempts').query({ conversionId }).set(auth(aff.apiKey)).expect(200);
      return res.body.data.reverse();
    }

    it('calls the template with its macros filled and logs the attempt', async () => {
      const aff = await createAffiliate(t);
      await t.http
        .put('/v1/postback-settings')
        .set(auth(aff.apiKey))
        .send({ urlTemplate: `${receiverUrl}/pb?cid={click_id}&p={payout}&c={currency}&s={status}&g={goal}&t={txn_id}&o={offer_id}&s1={sub1}&s2={sub2}` })
        .expect(200);
      receiver.answer('ok');
      const id = await convert(aff, usd, { txn_id: 'ORDER-77' });
      await drainQueues(t);
      const log = await attempts(aff, id);
      expect(log).toHaveLength(1);
      expect(log[0]).toMatchObject({ statusCode: 200, attempt: 1, error: null });
      const called = new URL(log[0].url);
      expect(Object.fromEntries(called.searchParams)).toMatchObject({
        p: '3.00',
        c: 'USD',
        s: 'pending',
        g: 'lead',
        t: 'ORDER-77',
        o: usd.id,
        s1: 'campaign-7',
        s2: 'blue & green',
      });
      expect(receiver.received.some((r) => r.url.includes('t=ORDER-77'))).toBe(true);
    });

    it('retries a 500 with backoff until a 200, and gives up on a timeout after the ceiling', async () => {
      const aff = await createAffiliate(t);
      await t.http
        .put('/v1/postback-settings')
        .set(auth(aff.apiKey))
        .send({ urlTemplate: `${receiverUrl}/pb?t={txn_id}` })
        .expect(200);
      receiver.answer('error', 'ok');
      const retried = await convert(aff, usd);
      await drainQueues(t);
      expect((await attempts(aff, retried)).map((a: { statusCode: number }) => a.statusCode)).toEqual([500, 200]);

      receiver.answer('hang', 'hang', 'hang');
      const hung = await convert(aff, usd);
      await drainQueues(t);
      const log = await attempts(aff, hung);
      expect(log).toHaveLength(3);
      expect(log.every((a: { error: string }) => /timed out/.test(a.error))).toBe(true);
      expect(log.map((a: { attempt: number }) => a.attempt)).toEqual([1, 2, 3]);
    });

    it('records a refused connection, and the offer template overrides the general one', async () => {
      const aff = await createAffiliate(t);
      await t.http
        .put('/v1/postback-settings')
        .set(auth(aff.apiKey))
        .send({ urlTemplate: `http://127.0.0.1:${await closedPort()}/nothing-listens?t={txn_id}` })
        .expect(200);
      const refused = await convert(aff, usd);
      await drainQueues(t);
      const log = await attempts(aff, refused);
      expect(log).toHaveLength(3);
      expect(log[0].error).toMatch(/ECONNREFUSED/);

      await t.http
        .put('/v1/postback-settings')
        .set(auth(aff.apiKey))
        .send({ offerId: usd.id, urlTemplate: `${receiverUrl}/offer?t={txn_id}` })
        .expect(200);
      const id = await convert(aff, usd);
      await drainQueues(t);
      expect((await attempts(aff, id))[0].url).toContain('/offer?');
    });

    it('fires a test postback on demand', async () => {
      const aff = await createAffiliate(t);
      await t.http.post('/v1/postback-settings/test').set(auth(aff.apiKey)).send({}).expect(404);
      await t.http
        .put('/v1/postback-settings')
        .set(auth(aff.apiKey))
        .send({ urlTemplate: `${receiverUrl}/test?p={payout}` })
        .expect(200);
      const res = await t.http.post('/v1/postback-settings/test').set(auth(aff.apiKey)).send({}).expect(200);
      expect(res.body).toMatchObject({ isTest: true, statusCode: 200, url: `${receiverUrl}/test?p=12.34` });
    });

    it('validates templates and scopes settings and attempts', async () => {
      const aff = await createAffiliate(t);
      for (const urlTemplate of ['ftp://x.example/', 'https://x.example/?a={secret}', 'not a url']) {
        await t.http.put('/v1/postback-settings').set(auth(aff.apiKey)).send({ urlTemplate }).expect(400);
      }
      for (const key of [advertiser.apiKey, finance.apiKey, t.adminKey]) {
        await t.http.put('/v1/postback-settings').set(auth(key)).send({ urlTemplate: 'https://x.example/' }).expect(403);
      }
      await t.http.put('/v1/postback-settings').set(auth(aff.apiKey)).send({ urlTemplate: 'https://x.example/', offerId: '00000000-0000-4000-8000-000000000000' }).expect(404);
      const mine = await t.http.get('/v1/postback-attempts').set(auth(aff.apiKey)).expect(200);
      expect(mine.body.data).toEqual([]);
      await t.http.get('/v1/postback-attempts').set(auth(advertiser.apiKey)).expect(403);
      const all = await t.http.get('/v1/postback-attempts').set(auth(t.adminKey)).expect(200);
      expect(all.body.data.length).toBeGreaterThan(0);
    });
  });
});
