import { Client } from 'pg';
import { ConversionsService } from '../../src/modules/conversions/conversions.service';
import { createTestApp, TestApp } from '../support/create-test-app';
import { hammer } from '../support/hammer';
import { auth, createAdvertiser, createAffiliate, createOffer, OfferHandle, PrincipalHandle } from '../support/factories';

/** The lean write of a new conversion: one statement for the row, its event, its outbox rows and its report delta. */
describe('conversions: the one-statement write', () => {
  let t: TestApp;
  let advertiser: PrincipalHandle;
  let affiliate: PrincipalHandle;
  let txn = 0;
  const nextTxn = () => `W-${Date.now().toString(36)}-${++txn}`;

  async function click(offerId: string): Promise<string> {
    const made = await t.http.post('/v1/links').set(auth(affiliate.apiKey)).send({ offerId });
    expect(made.status).toBe(201);
    const res = await t.http.get(`/c/${made.body.code}`).set('user-agent', 'jest');
    expect(res.status).toBe(302);
    return new URL(res.headers.location).searchParams.get('cid') as string;
  }

  const postback = (params: Record<string, string>) => t.http.get('/postback').query({ token: advertiser.postbackToken as string, ...params });

  /** Everything a conversion wrote, with the time of the transaction that wrote it (now(): one per transaction). */
  async function writes(conversionId: string) {
    const [conversion] = await t.dataSource.query(`SELECT created_at AS tx FROM conversions WHERE id = $1`, [conversionId]);
    const events = await t.dataSource.query(
      `SELECT created_at AS tx, id, from_status, to_status, actor_type, actor_id, reason FROM conversion_events WHERE conversion_id = $1 ORDER BY id`,
      [conversionId],
    );
    const outbox = await t.dataSource.query(`SELECT created_at AS tx, topic, payload FROM outbox WHERE aggregate_id = $1 ORDER BY id`, [conversionId]);
    const keys = await t.dataSource.query(`SELECT conversion_id FROM report_conversion_keys WHERE conversion_id = $1`, [conversionId]);
    return { conversion, events, outbox, keys };
  }

  /** An offer's conversion counters in the reports: deltas not yet folded plus the folded rollup, read at once. */
  async function reported(offerId: string): Promise<Record<string, number>> {
    const [row] = await t.dataSource.query(
      `SELECT sum(pending)::int AS pending, sum(rejected)::int AS rejected, sum(revenue)::int AS revenue
         FROM (SELECT pending, rejected, revenue FROM report_conversion_deltas WHERE offer_id = $1
               UNION ALL SELECT pending, rejected, revenue FROM report_conversion_hours WHERE offer_id = $1) x`,
      [offerId],
    );
    return row;
  }

  beforeAll(async () => {
    t = await createTestApp({ listen: true });
    [advertiser, affiliate] = await Promise.all([createAdvertiser(t), createAffiliate(t)]);
  });
  afterAll(() => t.close());

  it('writes the conversion, its event, both outbox rows and its report delta in one statement', async () => {
    const offer = await createOffer(t, advertiser);
    const clickId = await click(offer.id);
    const service = t.app.get(ConversionsService);
    // Every statement any connection sends (calls through to the real database).
    const query = jest.spyOn(Client.prototype, 'query');
    const sent = () => query.mock.calls.map(([config]) => String(typeof config === 'string' ? config : (config as { text: string }).text));
    let result;
    try {
      result = await service.record({ advertiserId: advertiser.id, source: 'api', goal: 'lead', txnId: nextTxn(), clickId }, { type: 'principal', id: advertiser.id });
      expect(sent().filter((text) => /INSERT INTO (conversions|conversion_events|outbox|report_conversion_keys|report_conversion_deltas)\b/.test(text))).toHaveLength(1);
      expect(sent().some((text) => /FROM conversions WHERE advertiser_id/.test(text))).toBe(false);
    } finally {
      query.mockRestore();
    }
    expect(result.created).toBe(true);
    expect(result.conversion).toMatchObject({ status: 'pending', revenue: 500, payout: 300, offerId: offer.id, affiliateId: affiliate.id, clickId });

    const w = await writes(result.conversion.id);
    expect(w.events).toEqual([
      { tx: w.conversion.tx, id: expect.any(String), from_status: null, to_status: 'pending', actor_type: 'principal', actor_id: advertiser.id, reason: null },
    ]);
    // The rows OutboxService.enqueue writes, the event id as a string.
    expect(w.outbox).toEqual([
      { tx: w.conversion.tx, topic: 'conversion.recorded', payload: {} },
      { tx: w.conversion.tx, topic: 'postback.send', payload: { eventId: w.events[0].id } },
      { tx: w.conversion.tx, topic: 'webhook.conversion', payload: { eventId: w.events[0].id } },
    ]);
    expect(w.keys).toEqual([{ conversion_id: result.conversion.id }]);
    expect(await reported(offer.id)).toEqual({ pending: 1, rejected: 0, revenue: 500 });
  });

  it('a duplicate, however concurrent, writes nothing and answers the stored conversion', async () => {
    const offer = await createOffer(t, advertiser);
    const clickId = await click(offer.id);
    const txnId = nextTxn();
    const query = new URLSearchParams({ token: advertiser.postbackToken as string, click_id: clickId, goal: 'lead', txn_id: txnId });
    const responses = await hammer(`${t.baseUrl}/postback?${query}`, 200);
    expect(responses.filter((r) => r.status === 201)).toHaveLength(1);
    expect(new Set(responses.map((r) => `${r.body.id} ${r.body.status}`)).size).toBe(1);
    const id = responses[0].body.id as string;
    const before = await writes(id);
    expect(before.events).toHaveLength(1);
    expect(before.outbox.map((o: { topic: string }) => o.topic)).toEqual(['conversion.recorded', 'postback.send', 'webhook.conversion']);

    const repeat = await postback({ click_id: clickId, goal: 'lead', txn_id: txnId });
    expect(repeat.status).toBe(200);
    expect(repeat.body).toEqual({ id, status: 'pending' });
    expect(await writes(id)).toEqual(before);
    expect(await reported(offer.id)).toEqual({ pending: 1, rejected: 0, revenue: 500 });
  });

  it('a repeat answers the stored conversion even when its own input would now be refused', async () => {
    const offer = await createOffer(t, advertiser);
    const clickId = await click(offer.id);
    const txnId = nextTxn();
    const first = await postback({ click_id: clickId, goal: 'sale', txn_id: txnId, amount: '20.00' });
    expect(first.status).toBe(201);
    // No amount for a percent goal: refused as new, but this one already exists.
    const repeat = await postback({ click_id: clickId, goal: 'sale', txn_id: txnId });
    expect(repeat.status).toBe(200);
    expect(repeat.body).toEqual(first.body);
    const refused = await postback({ click_id: clickId, goal: 'sale', txn_id: nextTxn() });
    expect(refused.status).toBe(400);
    expect(refused.body.error.code).toBe('amount_required');
  });

  it('records a rejection with its reason and event, without outbox rows, counted once', async () => {
    const offer: OfferHandle = await createOffer(t, advertiser);
    const clickId = await click(offer.id);
    const txnId = nextTxn();
    const res = await postback({ click_id: clickId, goal: 'nope', txn_id: txnId });
    expect(res.body).toMatchObject({ status: 'rejected', reason: 'unknown_goal' });
    await postback({ click_id: clickId, goal: 'nope', txn_id: txnId }).expect(200);
    const w = await writes(res.body.id);
    expect(w.events).toMatchObject([{ from_status: null, to_status: 'rejected', actor_type: 'postback', actor_id: advertiser.id, reason: 'unknown_goal' }]);
    expect(w.outbox).toEqual([]);
    expect(await reported(offer.id)).toEqual({ pending: 0, rejected: 1, revenue: 0 });
  });

  it('writes a capped offer’s conversion with the same statement, inside its cap lock, and does not count a repeat', async () => {
    const offer = await createOffer(t, advertiser, { caps: { totalConversions: 2 } });
    const clickId = await click(offer.id);
    const txnId = nextTxn();
    const first = await postback({ click_id: clickId, goal: 'lead', txn_id: txnId });
    expect(first.status).toBe(201);
    for (let i = 0; i < 3; i++) await postback({ click_id: clickId, goal: 'lead', txn_id: txnId }).expect(200);
    const second = await postback({ click_id: clickId, goal: 'lead', txn_id: nextTxn() });
    expect(second.body.status).toBe('pending');
    const third = await postback({ click_id: clickId, goal: 'lead', txn_id: nextTxn() });
    expect(third.body).toMatchObject({ status: 'rejected', reason: 'cap_reached' });
    const w = await writes(first.body.id);
    expect(w.events).toHaveLength(1);
    expect(w.outbox.map((o: { topic: string; tx: Date }) => [o.topic, o.tx.getTime() === w.conversion.tx.getTime()])).toEqual([
      ['conversion.recorded', true],
      ['postback.send', true],
      ['webhook.conversion', true],
    ]);
    expect(await reported(offer.id)).toEqual({ pending: 2, rejected: 1, revenue: 1000 });
  });

  describe('group commit (concurrent conversions written by one statement)', () => {
    /** Runs `work`, answering the sizes of the conversion writes it sent (from their prepared statements' names). */
    async function batchSizes<T>(work: () => Promise<T>): Promise<{ result: T; sizes: number[] }> {
      const query = jest.spyOn(Client.prototype, 'query');
      try {
        const result = await work();
        const names = query.mock.calls.map(([config]) => (typeof config === 'object' && config !== null ? String((config as { name?: string }).name ?? '') : ''));
        return { result, sizes: names.filter((n) => n.startsWith('conversions.write.')).map((n) => Number(n.split('.')[2])) };
      } finally {
        query.mockRestore();
      }
    }

    it('answers each caller with its own conversion and writes each key once, duplicates inside and across batches included', async () => {
      const offer = await createOffer(t, advertiser);
      const clickId = await click(offer.id);
      const service = t.app.get(ConversionsService);
      const txns = Array.from({ length: 30 }, () => nextTxn());
      // Each txn id twice, in an order that puts some pairs in one batch and some in two.
      const inputs = [...txns, ...txns.slice(0, 15).reverse(), ...txns.slice(15)];
      const { result: answers, sizes } = await batchSizes(() =>
        Promise.all(
          inputs.map((txnId) => service.record({ advertiserId: advertiser.id, source: 'postback', goal: 'lead', txnId, clickId }, { type: 'postback', id: advertiser.id })),
        ),
      );
      expect(Math.max(...sizes)).toBeGreaterThan(1);
      expect(sizes.reduce((a, b) => a + b, 0)).toBe(inputs.length);
      for (const txnId of txns) {
        const mine = answers.filter((_, i) => inputs[i] === txnId);
        expect(mine.map((a) => a.conversion.txnId)).toEqual([txnId, txnId]);
        expect(mine.filter((a) => a.created)).toHaveLength(1);
        expect(new Set(mine.map((a) => a.conversion.id)).size).toBe(1);
      }
      const ids = [...new Set(answers.map((a) => a.conversion.id))];
      expect(ids).toHaveLength(30);
      const [counts] = await t.dataSource.query(
        `SELECT (SELECT count(*)::int FROM conversions WHERE offer_id = $1) AS conversions,
                (SELECT count(*)::int FROM conversion_events WHERE conversion_id = ANY($2::uuid[])) AS events,
                (SELECT count(*)::int FROM outbox WHERE aggregate_id = ANY($3::text[])) AS outbox,
                (SELECT count(*)::int FROM report_conversion_keys WHERE conversion_id = ANY($2::uuid[])) AS keys`,
        [offer.id, ids, ids],
      );
      expect(counts).toEqual({ conversions: 30, events: 30, outbox: 90, keys: 30 });
      // Each conversion's own event and outbox rows, in order, the event id in the payloads.
      for (const id of ids) {
        const w = await writes(id);
        expect(w.events).toMatchObject([{ from_status: null, to_status: 'pending', actor_type: 'postback', actor_id: advertiser.id }]);
        expect(w.outbox).toEqual([
          { tx: w.conversion.tx, topic: 'conversion.recorded', payload: {} },
          { tx: w.conversion.tx, topic: 'postback.send', payload: { eventId: w.events[0].id } },
          { tx: w.conversion.tx, topic: 'webhook.conversion', payload: { eventId: w.events[0].id } },
        ]);
      }
      expect(await reported(offer.id)).toEqual({ pending: 30, rejected: 0, revenue: 30 * 500 });
    });

    it('keeps each conversion’s own click key when one statement writes conversions of different clicks and links', async () => {
      const offer = await createOffer(t, advertiser);
      const clicks = await Promise.all(Array.from({ length: 6 }, () => click(offer.id)));
      const service = t.app.get(ConversionsService);
      const { result: answers, sizes } = await batchSizes(() =>
        Promise.all(
          clicks.map((clickId) =>
            service.record({ advertiserId: advertiser.id, source: 'postback', goal: 'lead', txnId: nextTxn(), clickId }, { type: 'postback', id: advertiser.id }),
          ),
        ),
      );
      expect(Math.max(...sizes)).toBeGreaterThan(1);
      const keys: { conversion_id: string; link_id: string; click_id: string }[] = await t.dataSource.query(
        `SELECT k.conversion_id, c.link_id, c.click_id FROM report_conversion_keys k JOIN conversions c ON c.id = k.conversion_id WHERE k.conversion_id = ANY($1::uuid[])`,
        [answers.map((a) => a.conversion.id)],
      );
      expect(keys).toHaveLength(6);
      expect(new Set(keys.map((k) => k.link_id)).size).toBe(6);
      expect(keys.map((k) => k.click_id).sort()).toEqual([...clicks].sort());
    });

    it('fails only the conversion the database refuses; the others of its batch are written', async () => {
      const offer = await createOffer(t, advertiser);
      const clickId = await click(offer.id);
      const service = t.app.get(ConversionsService);
      const inputs = Array.from({ length: 8 }, (_, i) => ({ txnId: nextTxn(), ip: i === 3 ? 'not-an-address' : '203.0.113.7' }));
      const { result: settled, sizes } = await batchSizes(() =>
        Promise.allSettled(
          inputs.map(({ txnId, ip }) =>
            service.record({ advertiserId: advertiser.id, source: 'postback', goal: 'lead', txnId, clickId, ip }, { type: 'postback', id: advertiser.id }),
          ),
        ),
      );
      // A batch that failed, then each of its conversions alone.
      expect(Math.max(...sizes)).toBeGreaterThan(1);
      expect(sizes.filter((n) => n === 1).length).toBeGreaterThanOrEqual(2);
      expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled', 'fulfilled']);
      expect(String((settled[3] as PromiseRejectedResult).reason)).toMatch(/inet/);
      const stored: { txn_id: string }[] = await t.dataSource.query(`SELECT txn_id FROM conversions WHERE offer_id = $1`, [offer.id]);
      expect(stored.map((r) => r.txn_id).sort()).toEqual(
        inputs
          .filter((_, i) => i !== 3)
          .map((x) => x.txnId)
          .sort(),
      );
      expect(await reported(offer.id)).toEqual({ pending: 7, rejected: 0, revenue: 7 * 500 });
    });
  });

  it('keeps writing after a migration adds a column to conversions (the prepared statement names its columns)', async () => {
    const offer = await createOffer(t, advertiser);
    const clickId = await click(offer.id);
    // Prepare the statement on every pooled connection first.
    const warm = await Promise.all(Array.from({ length: 12 }, () => postback({ click_id: clickId, goal: 'lead', txn_id: nextTxn() })));
    expect(warm.every((r) => r.status === 201)).toBe(true);
    await t.dataSource.query(`ALTER TABLE conversions ADD COLUMN added_later int`);
    try {
      const after = await Promise.all(Array.from({ length: 12 }, () => postback({ click_id: clickId, goal: 'lead', txn_id: nextTxn() })));
      expect(after.map((r) => r.status)).toEqual(Array(12).fill(201));
    } finally {
      await t.dataSource.query(`ALTER TABLE conversions DROP COLUMN added_later`);
    }
  });
});
