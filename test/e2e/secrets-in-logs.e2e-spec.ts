import { createTestApp, TestApp } from '../support/create-test-app';
import { auth, createAdvertiser, PrincipalHandle } from '../support/factories';

/** Every secret-shaped string: API keys, postback tokens. */
const SECRET_SHAPES = [/afx_(adm|adv|aff|fin)_[A-Za-z0-9_-]{8,}/, /pbt_[A-Za-z0-9_-]{8,}/];
const CLIENT_IP = '203.0.113.199';
const USER_AGENT = 'Secret-Agent/7.0 (personal device)';

describe('secrets stay out of the logs', () => {
  let t: TestApp;
  let advertiser: PrincipalHandle;

  beforeAll(async () => {
    t = await createTestApp();
    advertiser = await createAdvertiser(t);
  });
  afterAll(() => t.close());

  /** Runs `work` with `table` renamed away: the database fails that request's query for real. */
  async function withoutTable<T>(table: string, work: () => Promise<T>): Promise<T> {
    await t.dataSource.query(`ALTER TABLE ${table} RENAME TO ${table}_away`);
    try {
      return await work();
    } finally {
      await t.dataSource.query(`ALTER TABLE ${table}_away RENAME TO ${table}`);
    }
  }

  const errorLines = () => t.logs.filter((line) => JSON.parse(line).level >= 50);

  it('logs a failing postback without its token, the SQL parameters or the client behind it', async () => {
    const token = advertiser.postbackToken as string;
    const before = t.logs.length;
    const res = await withoutTable('postback_tokens', () =>
      t.http
        .get('/postback')
        .query({
          token,
          coupon: 'NOPE',
          goal: 'sale',
          txn_id: 'LOG-1',
          amount: '10.00',
          currency: 'USD',
          ip: CLIENT_IP,
          user_agent: USER_AGENT,
          api_key: 'afx_adm_query_param_value_000000',
          signature: 'sig-value-123',
        })
        .set({ 'x-forwarded-for': CLIENT_IP, 'user-agent': USER_AGENT, authorization: `Bearer ${t.adminKey}` }),
    );
    expect(res.status).toBe(500);
    const written = t.logs.slice(before).join('\n');
    // The failure is logged (with its URL and error), just not the secrets in it.
    expect(written).toContain('"url":"/postback?');
    expect(written).toContain('relation \\"postback_tokens\\" does not exist');
    expect(written).toContain('token=[redacted]');
    for (const secret of [token, t.adminKey, 'afx_adm_query_param_value_000000', 'sig-value-123', CLIENT_IP, USER_AGENT, encodeURIComponent(USER_AGENT)])
      expect(written).not.toContain(secret);
  });

  it('logs a failing conversion write without the client IP and user agent it was storing', async () => {
    const before = t.logs.length;
    const res = await withoutTable('conversions', () =>
      t.http
        .get('/postback')
        .query({ token: advertiser.postbackToken as string, coupon: 'NOPE', goal: 'sale', txn_id: 'LOG-2', amount: '10.00', currency: 'USD' })
        .set({ 'x-forwarded-for': CLIENT_IP, 'user-agent': USER_AGENT }),
    );
    expect(res.status).toBeGreaterThanOrEqual(500);
    const written = t.logs.slice(before).join('\n');
    expect(errorLines().length).toBeGreaterThan(0);
    for (const secret of [advertiser.postbackToken as string, CLIENT_IP, USER_AGENT]) expect(written).not.toContain(secret);
  });

  it('never writes an API key or a postback token in any line of this file', async () => {
    await t.http.post('/v1/postback-tokens').set(auth(advertiser.apiKey)).expect(201);
    for (const line of t.logs) for (const shape of SECRET_SHAPES) expect([line, shape.exec(line)?.[0]]).toEqual([line, undefined]);
  });
});
