import { Secret, TOTP } from 'otpauth';
import request from 'supertest';
import TestAgent from 'supertest/lib/agent';
import { addUser, csrfOf, PASSWORD, signIn, SignedInAgent, uniqueEmail } from '../browser/portal-fixtures';
import { createTestApp, TestApp } from '../support/create-test-app';
import { createCast } from '../support/tracking.factories';

/** Real codes, as an authenticator app computes them from the secret shown on the settings page. */
const codeAt = (secret: string, timestamp = Date.now()) => TOTP.generate({ secret: Secret.fromBase32(secret), timestamp });
const secretOf = (html: string) => {
  const match = /Secret: <code>([A-Z2-7]+)<\/code>/.exec(html);
  if (!match) throw new Error('no secret on the page');
  return match[1];
};
const pendingOf = (html: string) => {
  const match = /name="pending" value="([A-Za-z0-9_-]{43})"/.exec(html);
  if (!match) throw new Error('no pending sign-in on the page');
  return match[1];
};

let ipCounter = 0;
/** Each test from its own address, so the sign-in throttle of one does not reach the next. */
const freshIp = () => ({ 'x-forwarded-for': `198.51.100.${++ipCounter}` });

describe('two-factor sign-in (TOTP)', () => {
  let t: TestApp;
  let cast: Awaited<ReturnType<typeof createCast>>;
  const realNow = Date.now.bind(Date);
  let shift = 0;

  beforeAll(async () => {
    t = await createTestApp();
    cast = await createCast(t);
    // The app runs in this process: moving its clock by whole periods makes "the next code" deterministic.
    jest.spyOn(Date, 'now').mockImplementation(() => realNow() + shift);
  });
  afterAll(async () => {
    jest.restoreAllMocks();
    await t.close();
  });

  /** Turns two-factor on for a new person of `principalId`; answers the secret and the signed-in agent. */
  async function enabled(principalId: string): Promise<{ email: string; secret: string; person: SignedInAgent; used: string }> {
    const { email } = await addUser(t, principalId, uniqueEmail('2fa'));
    const person = await signIn(t, email);
    const setup = await person.agent.post('/portal/settings/two-factor').type('form').send({ _csrf: person.csrf }).expect(200);
    const secret = secretOf(setup.text);
    const used = codeAt(secret);
    await person.agent.post('/portal/settings/two-factor/enable').type('form').send({ _csrf: person.csrf, code: used }).expect(303);
    return { email, secret, person, used };
  }

  async function passwordStep(agent: TestAgent, email: string, from: Record<string, string>): Promise<string> {
    const form = await agent.get('/portal/login').expect(200);
    const res = await agent
      .post('/portal/login')
      .set(from)
      .type('form')
      .send({ _csrf: csrfOf(form.text), email, password: PASSWORD })
      .expect(200);
    expect(res.text).toContain('Enter your code');
    expect(res.headers['set-cookie']?.toString() ?? '').not.toContain('afx_session=');
    return pendingOf(res.text);
  }

  it('is set up on the settings page by every role: secret and otpauth:// URI as text (and a QR code), confirmed with a current code', async () => {
    const [{ id: adminId }] = await t.dataSource.query(`SELECT id FROM principals WHERE role = 'admin' LIMIT 1`);
    for (const principalId of [adminId, cast.advertiser.id, cast.affiliate.id, cast.finance.id]) {
      const person = await signIn(t, (await addUser(t, principalId, uniqueEmail('setup'))).email);
      const off = await person.agent.get('/portal/settings').expect(200);
      expect(off.text).toContain('Set up two-factor sign-in');
      const setup = await person.agent.post('/portal/settings/two-factor').type('form').send({ _csrf: person.csrf }).expect(200);
      const secret = secretOf(setup.text);
      expect(setup.text).toMatch(new RegExp(`otpauth://totp/Afflux:[^<]*secret=${secret}`));
      expect(setup.text).toContain('<svg');
    }
    await request(t.app.getHttpServer()).post('/portal/settings/two-factor').type('form').send({}).expect(401);

    const { email } = await addUser(t, cast.advertiser.id, uniqueEmail('confirm'));
    const person = await signIn(t, email);
    const elsewhere = await signIn(t, email);
    await person.agent.post('/portal/settings/two-factor').type('form').send({ code: '123456' }).expect(403);
    const setup = await person.agent.post('/portal/settings/two-factor').type('form').send({ _csrf: person.csrf }).expect(200);
    const secret = secretOf(setup.text);
    const wrong = String((Number(codeAt(secret)) + 1) % 1_000_000).padStart(6, '0');
    const refused = await person.agent.post('/portal/settings/two-factor/enable').type('form').send({ _csrf: person.csrf, code: wrong }).expect(422);
    expect(refused.text).toMatch(/is not the current code of your authenticator app/i);
    expect(secretOf(refused.text)).toBe(secret);
    const [before] = await t.dataSource.query(`SELECT totp_secret FROM portal_users WHERE lower(email) = lower($1)`, [email]);
    expect(before.totp_secret).toBeNull();

    const on = await person.agent
      .post('/portal/settings/two-factor/enable')
      .type('form')
      .send({ _csrf: person.csrf, code: codeAt(secret) })
      .expect(303);
    expect(on.headers.location).toBe('/portal/settings?notice=two_factor_on');
    const [after] = await t.dataSource.query(`SELECT totp_secret, totp_enabled_at FROM portal_users WHERE lower(email) = lower($1)`, [email]);
    expect(after.totp_secret).toBe(secret);
    expect(after.totp_enabled_at).not.toBeNull();
    expect((await person.agent.get('/portal/settings').expect(200)).text).toContain('On since');
    // Other browsers are signed out.
    expect((await elsewhere.agent.get('/portal/settings')).headers.location).toMatch(/^\/portal\/login/);
  });

  it('asks for a code after the password: a wrong code and a replayed one are refused, a fresh one signs in once', async () => {
    const { email, secret, used } = await enabled(cast.advertiser.id);
    const from = freshIp();
    const agent = request.agent(t.app.getHttpServer());
    const pending = await passwordStep(agent, email, from);
    expect((await agent.get('/portal/settings')).headers.location).toMatch(/^\/portal\/login/);

    // The code that turned it on (this period) was used already.
    const replayOfEnable = await agent
      .post('/portal/login/code')
      .set(from)
      .type('form')
      .send({ _csrf: csrfOf((await agent.get('/portal/login')).text), pending, code: used });
    expect(replayOfEnable.status).toBe(401);
    expect(replayOfEnable.text).toContain('That is not the current code of your authenticator app.');
    const csrf = csrfOf((await agent.get('/portal/login')).text);
    await agent.post('/portal/login/code').set(from).type('form').send({ _csrf: csrf, pending, code: '000000x' }).expect(401);
    await agent
      .post('/portal/login/code')
      .set(from)
      .type('form')
      .send({ pending, code: codeAt(secret) })
      .expect(403);

    shift = 30_000;
    const next = codeAt(secret);
    const ok = await agent.post('/portal/login/code').set(from).type('form').send({ _csrf: csrf, pending, code: next }).expect(303);
    expect(ok.headers.location).toBe('/portal');
    await agent.get('/portal/settings').expect(200);

    // The same code again, in the same period, on a new sign-in: refused. The pending token is spent too.
    const other = request.agent(t.app.getHttpServer());
    const again = await passwordStep(other, email, from);
    const otherCsrf = csrfOf((await other.get('/portal/login')).text);
    await other.post('/portal/login/code').set(from).type('form').send({ _csrf: otherCsrf, pending: again, code: next }).expect(401);
    const spent = await other.post('/portal/login/code').set(from).type('form').send({ _csrf: otherCsrf, pending, code: next }).expect(401);
    expect(spent.text).toContain('Your sign-in expired');
    expect((await other.get('/portal/settings')).headers.location).toMatch(/^\/portal\/login/);
    shift = 0;
  });

  it('counts each code against the sign-in throttle: after too many wrong codes even the right one waits', async () => {
    const { email, secret } = await enabled(cast.affiliate.id);
    const from = freshIp();
    const agent = request.agent(t.app.getHttpServer());
    const pending = await passwordStep(agent, email, from);
    const csrf = csrfOf((await agent.get('/portal/login')).text);
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await agent.post('/portal/login/code').set(from).type('form').send({ _csrf: csrf, pending, code: '000000' })).status);
    expect(statuses).toEqual([401, 401, 401, 401, 429]);
    shift = 30_000;
    const blocked = await agent
      .post('/portal/login/code')
      .set(from)
      .type('form')
      .send({ _csrf: csrf, pending, code: codeAt(secret) });
    shift = 0;
    expect(blocked.status).toBe(429);
    expect(blocked.text).toMatch(/Too many failed sign-ins/);
    expect((await agent.get('/portal/settings')).headers.location).toMatch(/^\/portal\/login/);
  });

  it('is turned off only with a current code, not a used one; then the password alone signs in', async () => {
    const { email, secret, person, used } = await enabled(cast.finance.id);
    const replay = await person.agent.post('/portal/settings/two-factor/disable').type('form').send({ _csrf: person.csrf, code: used }).expect(422);
    expect(replay.text).toMatch(/is not the current code of your authenticator app/i);
    await person.agent.post('/portal/settings/two-factor/disable').type('form').send({ _csrf: person.csrf, code: '' }).expect(422);
    await request(t.app.getHttpServer()).post('/portal/settings/two-factor/disable').type('form').send({ code: used }).expect(401);
    expect((await t.dataSource.query(`SELECT totp_secret FROM portal_users WHERE lower(email) = lower($1)`, [email]))[0].totp_secret).toBe(secret);

    shift = 30_000;
    const off = await person.agent
      .post('/portal/settings/two-factor/disable')
      .type('form')
      .send({ _csrf: person.csrf, code: codeAt(secret) })
      .expect(303);
    shift = 0;
    expect(off.headers.location).toBe('/portal/settings?notice=two_factor_off');
    expect((await t.dataSource.query(`SELECT totp_secret, totp_last_step FROM portal_users WHERE lower(email) = lower($1)`, [email]))[0]).toEqual({
      totp_secret: null,
      totp_last_step: null,
    });
    await signIn(t, email);
  });
  it('is reset by an admin for a person who lost their device (others refused): off, signed out, the password alone signs in', async () => {
    const { email, person } = await enabled(cast.advertiser.id);
    const [{ id: userId }] = await t.dataSource.query(`SELECT id FROM portal_users WHERE lower(email) = lower($1)`, [email]);
    const [{ id: adminId }] = await t.dataSource.query(`SELECT id FROM principals WHERE role = 'admin' LIMIT 1`);
    const admin = await signIn(t, (await addUser(t, adminId, uniqueEmail('reset-admin'))).email);
    const page = await admin.agent.get(`/portal/admin/principals/${cast.advertiser.id}`).expect(200);
    expect(page.text).toContain(`action="/portal/admin/users/${userId}/two-factor/reset"`);

    for (const principalId of [cast.advertiser.id, cast.affiliate.id, cast.finance.id]) {
      const other = await signIn(t, (await addUser(t, principalId, uniqueEmail('not-admin'))).email);
      await other.agent.post(`/portal/admin/users/${userId}/two-factor/reset`).type('form').send({ _csrf: other.csrf }).expect(404);
    }
    await request(t.app.getHttpServer()).post(`/portal/admin/users/${userId}/two-factor/reset`).type('form').send({}).expect(401);
    await admin.agent.post(`/portal/admin/users/${userId}/two-factor/reset`).type('form').send({}).expect(403);
    await admin.agent.post(`/portal/admin/users/00000000-0000-4000-8000-000000000000/two-factor/reset`).type('form').send({ _csrf: admin.csrf }).expect(404);
    expect((await t.dataSource.query(`SELECT totp_secret FROM portal_users WHERE id = $1`, [userId]))[0].totp_secret).not.toBeNull();

    const done = await admin.agent.post(`/portal/admin/users/${userId}/two-factor/reset`).type('form').send({ _csrf: admin.csrf }).expect(303);
    expect(done.headers.location).toBe(`/portal/admin/principals/${cast.advertiser.id}?notice=two_factor_reset`);
    expect((await t.dataSource.query(`SELECT totp_secret, totp_enabled_at FROM portal_users WHERE id = $1`, [userId]))[0]).toEqual({ totp_secret: null, totp_enabled_at: null });
    expect((await person.agent.get('/portal/settings')).headers.location).toMatch(/^\/portal\/login/);
    await signIn(t, email);
  });
});
