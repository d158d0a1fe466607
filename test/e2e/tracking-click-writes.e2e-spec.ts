import fc from 'fast-check';
import { randomBytes, randomUUID } from 'node:crypto';
import { EntityManager } from 'typeorm';
import { ClickBuffer, ClickRecord } from '../../src/modules/tracking/click-buffer';
import { CLICK_STATUSES } from '../../src/modules/tracking/click.entity';
import { trackingRepository } from '../../src/modules/tracking/tracking.repository';
import { createTestApp, TestApp } from '../support/create-test-app';

/** Runs `write` in a transaction, reads what it left in clicks and both click rollups for `offerIds`, and rolls it all back. */
async function written(t: TestApp, offerIds: string[], write: (manager: EntityManager) => Promise<void>) {
  const qr = t.dataSource.createQueryRunner();
  await qr.connect();
  await qr.startTransaction();
  try {
    await write(qr.manager);
    const read = (sql: string) => qr.manager.query(sql, [offerIds]);
    return {
      clicks: await read(
        `SELECT id, clicked_at, link_id, offer_id, affiliate_id, advertiser_id, channel, sub1, sub2, sub3, sub4, sub5, host(ip) AS ip, user_agent, referrer,
                is_unique, status, country, risk_score, risk_reasons FROM clicks WHERE offer_id = ANY($1) ORDER BY clicked_at, id`,
      ),
      hours: await read(`SELECT * FROM report_click_hours WHERE offer_id = ANY($1) ORDER BY hour, offer_id, affiliate_id, channel`),
      details: await read(
        `SELECT hour, offer_id, affiliate_id, channel, country, sub1, sub2, sub3, sub4, sub5, subs_key, clicks, unique_clicks, blocked_clicks
           FROM report_click_details WHERE offer_id = ANY($1) ORDER BY hour, offer_id, affiliate_id, channel, country, subs_key`,
      ),
    };
  } finally {
    await qr.rollbackTransaction();
    await qr.release();
  }
}

/** Text a request can carry into a click (well-formed, as cleanText leaves it): COPY's special characters, quotes, braces and non-ASCII included. */
const text = fc.option(
  fc.array(fc.constantFrom('a', 'z', '\\', '\t', '\n', '\r', '"', "'", '{', '}', ',', 'é', '😀', ' ', 'N', '.', '\\N'), { maxLength: 12 }).map((parts) => parts.join('')),
  {
    nil: null,
  },
);

/** Clicks on a few offers and affiliates over a few hours, with every field's edge cases. */
function clicksArbitrary(offers: string[], affiliates: string[]) {
  const base = Date.parse('2026-11-30T22:00:00Z');
  return fc
    .array(
      fc.record({
        ms: fc.integer({ min: 0, max: 3 * 3_600_000 }),
        offer: fc.constantFrom(...offers),
        affiliate: fc.constantFrom(...affiliates),
        channel: fc.constantFrom('email', 'social', 'other'),
        sub1: text,
        sub2: text,
        sub5: text,
        ip: fc.option(fc.oneof(fc.ipV4(), fc.ipV6()), { nil: null }),
        userAgent: text,
        referrer: text,
        isUnique: fc.option(fc.boolean(), { nil: undefined }),
        status: fc.constantFrom(...CLICK_STATUSES),
        country: fc.option(fc.constantFrom('DE', 'GB', 'US'), { nil: null }),
        reasons: fc.array(fc.record({ code: fc.constantFrom('bot_user_agent', 'datacenter_ip'), detail: text.map((d) => d ?? '') }), { maxLength: 2 }),
      }),
      { minLength: 1, maxLength: 40 },
    )
    .map((rows) =>
      rows.map((r): ClickRecord => ({
        id: randomBytes(45).toString('base64url'),
        clickedAt: new Date(base + r.ms),
        linkId: randomUUID(),
        offerId: r.offer,
        affiliateId: r.affiliate,
        advertiserId: r.offer,
        channel: r.channel as ClickRecord['channel'],
        sub1: r.sub1,
        sub2: r.sub2,
        sub3: null,
        sub4: '',
        sub5: r.sub5,
        ip: r.ip,
        userAgent: r.userAgent,
        referrer: r.referrer,
        status: r.status,
        isUnique: r.isUnique,
        country: r.country,
        risk: { score: r.reasons.length * 30, reasons: r.reasons as never },
      })),
    );
}

describe('writing clicks (COPY and the INSERT it falls back to)', () => {
  let t: TestApp;
  const offers = [randomUUID(), randomUUID()];
  const affiliates = [randomUUID(), randomUUID()];

  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it('stores the same rows and adds the same rollups with COPY as with INSERT, for any batch', async () => {
    await fc.assert(
      fc.asyncProperty(clicksArbitrary(offers, affiliates), async (batch) => {
        const copied = await written(t, offers, (m) => trackingRepository.copyClicks(m, batch));
        const inserted = await written(t, offers, (m) => trackingRepository.insertClicks(m, batch));
        expect(copied.clicks).toHaveLength(batch.length);
        expect(copied).toEqual(inserted);
      }),
      { numRuns: 25 },
    );
  });

  it('refuses a batch written before, and the INSERT then adds nothing and counts nothing twice', async () => {
    const [batch] = fc.sample(clicksArbitrary(offers, affiliates), { numRuns: 1, seed: 7 });
    const once = await written(t, offers, (m) => trackingRepository.copyClicks(m, batch));
    const again = await written(t, offers, async (m) => {
      await trackingRepository.copyClicks(m, batch);
      await m.query('SAVEPOINT retry');
      await expect(trackingRepository.copyClicks(m, batch)).rejects.toMatchObject({ code: '23505' });
      await m.query('ROLLBACK TO SAVEPOINT retry');
      await trackingRepository.insertClicks(m, batch);
    });
    expect(again).toEqual(once);
  });

  it('stores a sub id flood whose sub1 has an emoji where its risk detail is cut', async () => {
    const buffer = t.app.get(ClickBuffer);
    const linkId = randomUUID();
    const sub1 = `${'x'.repeat(59)}😀 and the rest`;
    const at = new Date();
    for (let i = 0; i < 501; i++)
      await buffer.push({
        id: randomBytes(45).toString('base64url'),
        clickedAt: at,
        linkId,
        offerId: linkId,
        affiliateId: linkId,
        advertiserId: linkId,
        channel: 'other',
        sub1,
        sub2: null,
        sub3: null,
        sub4: null,
        sub5: null,
        ip: `198.51.100.${i % 200}`,
        userAgent: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36',
        referrer: null,
        status: 'ok',
      });
    await buffer.flush();
    const rows: { sub1: string; risk_reasons: { code: string; detail: string }[] }[] = await t.dataSource.query(`SELECT sub1, risk_reasons FROM clicks WHERE link_id = $1`, [
      linkId,
    ]);
    expect(rows).toHaveLength(501);
    expect(rows[0].sub1).toBe(sub1);
    expect(rows[0].risk_reasons).toEqual([{ code: 'sub_flood', detail: `501 clicks on sub1 "${'x'.repeat(59)}" within an hour (more than 500)` }]);
  });

  it('the click buffer writes a click it wrote before (a retried batch) without a second row, rollup count or drop', async () => {
    const buffer = t.app.get(ClickBuffer);
    const [batch] = fc.sample(clicksArbitrary([randomUUID()], [randomUUID()]), { numRuns: 1, seed: 11 });
    const offerIds = [...new Set(batch.map((c) => c.offerId))];
    const read = async () => ({
      clicks: (await t.dataSource.query(`SELECT count(*)::int AS n FROM clicks WHERE offer_id = ANY($1)`, [offerIds]))[0].n,
      counted: (await t.dataSource.query(`SELECT coalesce(sum(clicks + blocked_clicks), 0)::int AS n FROM report_click_hours WHERE offer_id = ANY($1)`, [offerIds]))[0].n,
      dropped: (await t.http.get('/metrics')).text.split('\n').find((l) => l.startsWith('afx_clicks_dropped_total{reason="invalid"}')) ?? 'none',
    });
    const copies = () => batch.map((c) => ({ ...c, risk: undefined, isUnique: c.isUnique ?? false, country: c.country }));
    for (const click of copies()) await buffer.push(click);
    await buffer.flush();
    const first = await read();
    expect(first.clicks).toBe(batch.length);
    expect(first.counted).toBe(batch.length);
    for (const click of copies()) await buffer.push(click);
    await buffer.flush();
    expect(await read()).toEqual(first);
  });
});
