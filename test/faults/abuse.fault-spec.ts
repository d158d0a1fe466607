import { ApiProc, Deployment } from './support/deployment';
import { waitFor } from './support/env';
import { addFigure } from './support/figures';
import { load, tally } from './support/load';
import { clickIdFor, principal, smallNetwork } from './support/network';

/** Rate limits (shared by every API process through Redis) and click floods. */
describe('abuse controls', () => {
  let d: Deployment;
  let apis: ApiProc[];
  const pick = (i: number) => apis[i % apis.length];

  beforeAll(async () => {
    d = await Deployment.create({ env: { RATE_LIMIT_WINDOW_MS: '60000', RATE_LIMIT_API: '30', RATE_LIMIT_POSTBACKS: '20', RATE_LIMIT_ANONYMOUS: '5' } });
    apis = await Promise.all([d.api(), d.api()]);
  }, 120_000);
  afterAll(() => d?.close());

  it('limits each API key, across both API processes, and leaves other keys alone', async () => {
    const [a, b] = await Promise.all([principal(d, apis[0].as(d.adminKey), 'affiliates'), principal(d, apis[0].as(d.adminKey), 'affiliates')]);
    const answers = await load(40, 4, (i) => pick(i).as(a.apiKey)('GET', '/v1/me'));
    expect(tally(answers, (r) => r.status)).toEqual({ 200: 30, 429: 10 });
    const refused = answers.find((r) => r.status === 429)!;
    expect(refused.body.error.code).toBe('rate_limited');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await apis[1].as(b.apiKey)('GET', '/v1/me')).status).toBe(200);
    addFigure('requests refused by the per-key limit', 10);
  });

  it('limits postbacks per advertiser once authenticated, storing nothing it refused', async () => {
    const net = await smallNetwork(d, (key) => apis[0].as(key));
    const other = await smallNetwork(d, (key) => apis[1].as(key));
    const send = (i: number, token: string, linkId: string) =>
      pick(i).as()('GET', '/postback', { query: { token, click_id: clickIdFor(d, linkId), goal: 'lead', txn_id: `RL-${i}` } });
    // Forged tokens do not spend the advertiser's allowance.
    const forged = await load(10, 5, (i) => send(i, `pbt_${'x'.repeat(32)}`, net.link.id));
    expect(tally(forged, (r) => r.status)).toEqual({ 401: 10 });
    const answers = await load(30, 3, (i) => send(i, net.advertiser.postbackToken as string, net.link.id));
    expect(tally(answers, (r) => r.status)).toEqual({ 201: 20, 429: 10 });
    expect(await d.count(`SELECT count(*) FROM conversions WHERE advertiser_id = $1`, [net.advertiser.id])).toBe(20);
    expect((await send(99, other.advertiser.postbackToken as string, other.link.id)).status).toBe(201);
    addFigure('postbacks refused by the per-advertiser limit', 10);
  });

  it('limits sign-ups per client IP on the routes open without a key', async () => {
    const answers = await load(8, 1, (i) => pick(i).as()('POST', '/v1/affiliates/signup', { body: { name: `Flood ${i}`, email: `flood-${i}-${Date.now()}@example.test` } }));
    expect(answers.map((r) => r.status)).toEqual([201, 201, 201, 201, 201, 429, 429, 429]);
    answers.forEach((r) => d.remember(r.body?.apiKey));
  });

  it('marks a click flood from one IP non-unique, however the flooder forges X-Forwarded-For', async () => {
    const net = await smallNetwork(d, (key) => apis[0].as(key));
    // A proxy on loopback (trusted) appends the address it saw; everything left of it is the client's own claim.
    const answers = await load(200, 8, (i) =>
      fetch(`${pick(i).url}/c/${net.link.code}`, { redirect: 'manual', headers: { 'user-agent': 'FloodBot/1.0', 'x-forwarded-for': `198.51.100.${i % 250}, 203.0.113.50` } }).then(
        (r) => r.status,
      ),
    );
    expect(tally(answers, (s) => s)).toEqual({ 302: 200 });
    await waitFor('the flood to be stored', async () => (await d.count(`SELECT count(*) FROM clicks WHERE link_id = $1`, [net.link.id])) === 200, 20_000, 100);
    const { rows } = await d.db.query(
      `SELECT host(ip) AS ip, count(*)::int AS clicks, count(*) FILTER (WHERE is_unique)::int AS unique FROM clicks WHERE link_id = $1 GROUP BY 1`,
      [net.link.id],
    );
    expect(rows).toEqual([{ ip: '203.0.113.50', clicks: 200, unique: 1 }]);
    const listed = await apis[1].as(net.affiliate.apiKey)('GET', '/v1/clicks', { query: { linkId: net.link.id, limit: 500 } });
    expect(listed.body.data.filter((c: { unique: boolean }) => c.unique).length).toBe(1);
    addFigure('flood clicks marked non-unique', 199);
  });
});
