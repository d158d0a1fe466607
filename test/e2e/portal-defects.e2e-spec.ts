import request from 'supertest';
import { inflateSync } from 'node:zlib';
import type { FastifyRequest } from 'fastify';
import { InviteMailer } from '../../src/modules/portal/auth/invite-mailer';
import { PortalViews } from '../../src/modules/portal/web/portal-views';
import { addUser, csrfOf, signIn, SignedInAgent, uniqueEmail } from '../browser/portal-fixtures';
import { createTestApp, TestApp } from '../support/create-test-app';
import { drainQueues } from '../support/drain';
import { PartnerPostbackReceiver } from '../support/partner-postback-receiver';
import { createOffer } from '../support/factories';
import { click, createCast, createLink } from '../support/tracking.factories';

/** Supertest's parser for a binary body. */
function binary(res: request.Response, done: (error: Error | null, body: Buffer) => void) {
  const stream = res as unknown as NodeJS.ReadableStream;
  const chunks: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(Buffer.from(chunk)));
  stream.on('end', () => done(null, Buffer.concat(chunks)));
}

/** The text runs of a pdfkit PDF (its Flate streams inflated, the hex strings of each TJ joined), one per line. */
function pdfText(pdf: Buffer): string {
  const raw = pdf.toString('latin1');
  const runs: string[] = [];
  for (const match of raw.matchAll(/stream\r?\n/g)) {
    const start = (match.index ?? 0) + match[0].length;
    const end = raw.indexOf('endstream', start);
    let content: string;
    try {
      content = inflateSync(pdf.subarray(start, end)).toString('latin1');
    } catch {
      continue;
    }
    for (const tj of content.matchAll(/\[([^\]]*)\]\s*TJ/g)) {
      runs.push([...tj[1].matchAll(/<([0-9a-fA-F]*)>/g)].map((h) => Buffer.from(h[1], 'hex').toString('latin1')).join(''));
    }
  }
  return runs.join('\n');
}

/**
 * The defects of the portal found by trying it as a new user would (issue "The portal people
 * choose"), each pinned by a request as a browser sends it.
 */
describe('the portal, as people use it', () => {
  let t: TestApp;
  let cast: Awaited<ReturnType<typeof createCast>>;
  let admin: SignedInAgent;
  const people: Record<string, SignedInAgent> = {};

  beforeAll(async () => {
    t = await createTestApp({ workers: true });
    cast = await createCast(t);
    const [{ id: adminId }] = await t.dataSource.query(`SELECT id FROM principals WHERE role = 'admin' LIMIT 1`);
    admin = await signIn(t, (await addUser(t, adminId, uniqueEmail('admin'), 'Ada Admin')).email);
    for (const [name, principal] of Object.entries({ advertiser: cast.advertiser, affiliate: cast.affiliate, finance: cast.finance })) {
      people[name] = await signIn(t, (await addUser(t, principal.id, uniqueEmail(name), name)).email);
    }
  });
  afterAll(() => t.close());

  /** A pending conversion of the cast's advertiser through a click and a postback. */
  async function pendingConversion(label: string): Promise<{ id: string; txnId: string }> {
    const offer = await createOffer(t, cast.advertiser, { visibility: 'public' });
    const link = await createLink(t, cast.affiliate, offer.id);
    const res = await click(t, link.code);
    const clickId = new URL(res.headers.location).searchParams.get('cid') ?? new URL(res.headers.location).searchParams.get('click_id');
    const txnId = `${label}-${Date.now().toString(36)}`;
    await t.http.get('/postback').query({ token: cast.advertiser.postbackToken, click_id: clickId, goal: 'lead', txn_id: txnId }).expect(201);
    await drainQueues(t);
    const [{ id, status }] = await t.dataSource.query(`SELECT id, status FROM conversions WHERE txn_id = $1`, [txnId]);
    expect(status).toBe('pending');
    return { id, txnId };
  }

  it('shows a visitor with an unknown tracking code a page, not JSON (programs asking for JSON still get the error body)', async () => {
    const page = await t.http.get('/c/NoSuchCode42').set('accept', 'text/html,application/xhtml+xml,*/*;q=0.8').expect(404);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.text).toContain('This link does not exist');
    const api = await t.http.get('/c/NoSuchCode42').set('accept', 'application/json').expect(404);
    expect(api.body.error.code).toBe('link_not_found');
  });

  it('rejects and reverses only with a reason, and never reverses a pending conversion', async () => {
    const { agent, csrf } = people.advertiser;
    const { id } = await pendingConversion('REASON');
    const noReason = await agent.post(`/portal/advertiser/conversions/${id}/reject`).type('form').send({ _csrf: csrf, reason: '  ' });
    expect(noReason.status).toBe(400);
    expect(noReason.text).toContain('Give the reason the affiliate will read.');
    const reverse = await agent.post(`/portal/advertiser/conversions/${id}/reverse`).type('form').send({ _csrf: csrf, reason: 'refund' });
    expect(reverse.status).toBe(409);
    expect((await t.dataSource.query(`SELECT status FROM conversions WHERE id = $1`, [id]))[0].status).toBe('pending');
    const list = await agent.get('/portal/advertiser/conversions').expect(200);
    const row = list.text.slice(list.text.indexOf(`id="conversion-${id}"`));
    expect(row.slice(0, row.indexOf('</tr>'))).not.toContain('/reverse');
    const rejected = await agent
      .post(`/portal/advertiser/conversions/${id}/reject`)
      .type('form')
      .send({ _csrf: csrf, reason: 'Duplicate lead', back: '/portal/advertiser/conversions?status=pending' });
    expect(rejected.status).toBe(303);
    expect(rejected.headers.location).toBe('/portal/advertiser/conversions?status=pending&notice=rejected');
    expect((await t.dataSource.query(`SELECT status, reason FROM conversions WHERE id = $1`, [id]))[0]).toEqual({ status: 'rejected', reason: 'Duplicate lead' });
  });

  it('finds conversions by transaction id, offer, affiliate and status, approves or rejects a selection (with a reason), and downloads them as CSV', async () => {
    const { agent, csrf } = people.advertiser;
    const [a, b] = [await pendingConversion('BULK-A'), await pendingConversion('BULK-B')];
    const found = await agent.get('/portal/advertiser/conversions').query({ txnId: a.txnId }).expect(200);
    expect(found.text).toContain(a.txnId);
    expect(found.text).not.toContain(b.txnId);
    const byAffiliate = await agent.get('/portal/advertiser/conversions').query({ affiliateId: cast.otherAffiliate.id }).expect(200);
    expect(byAffiliate.text).not.toContain(a.txnId);
    // Rejecting a selection needs the reason; nothing moves without it.
    const noReason = await agent
      .post('/portal/advertiser/conversions/bulk')
      .type('form')
      .send({ _csrf: csrf, action: 'reject', ids: [a.id, b.id] });
    expect(noReason.status).toBe(400);
    expect((await t.dataSource.query(`SELECT count(*)::int AS n FROM conversions WHERE id = ANY($1) AND status = 'pending'`, [[a.id, b.id]]))[0].n).toBe(2);
    // Another advertiser's conversion in the selection is a 404.
    const other = await agent
      .post('/portal/advertiser/conversions/bulk')
      .type('form')
      .send({ _csrf: people.advertiser.csrf, action: 'approve', ids: [a.id, '00000000-0000-4000-8000-000000000000'] });
    expect(other.status).toBe(404);
    const rejected = await agent
      .post('/portal/advertiser/conversions/bulk')
      .type('form')
      .send({ _csrf: csrf, action: 'reject', reason: 'Test orders', ids: [a.id, b.id], back: '/portal/advertiser/conversions' });
    expect(rejected.status).toBe(303);
    expect(rejected.headers.location).toBe('/portal/advertiser/conversions?notice=rejected');
    expect(await t.dataSource.query(`SELECT status, reason FROM conversions WHERE id = ANY($1) ORDER BY id`, [[a.id, b.id]])).toEqual([
      { status: 'rejected', reason: 'Test orders' },
      { status: 'rejected', reason: 'Test orders' },
    ]);
    const csv = await agent.get('/portal/advertiser/conversions.csv').query({ status: 'rejected' }).expect(200);
    expect(csv.headers['content-type']).toMatch(/^text\/csv/);
    const lines = csv.text.trim().split('\r\n');
    expect(lines[0]).toBe('created_at,txn_id,offer,offer_id,goal,affiliate,affiliate_id,status,reason,currency,sale_amount,cost');
    expect(lines.filter((l) => l.includes(a.txnId) || l.includes(b.txnId))).toHaveLength(2);
    expect(lines.slice(1).every((l) => l.includes(',rejected,'))).toBe(true);
  });

  it('previews earnings on the offer form, shows affiliates their threshold and next payout, and lets advertisers download invoice PDFs', async () => {
    const preview = await people.advertiser.agent.post('/portal/advertiser/offers').type('form').send({
      _csrf: people.advertiser.csrf,
      _action: 'preview',
      name: 'Preview',
      currency: 'EUR',
      'goals.0.key': 'sale',
      'goals.0.revenue.type': 'percent',
      'goals.0.revenue.value': '15',
      'goals.0.payout.type': 'percent',
      'goals.0.payout.value': '10',
    });
    expect(preview.status).toBe(200);
    expect(preview.text).toMatch(/On a €100\.00 sale the affiliate earns <strong>€10\.00<\/strong>; you pay <strong>€15\.00<\/strong> \(the network keeps €5\.00\)/);
    expect((await t.dataSource.query(`SELECT count(*)::int AS n FROM offers WHERE name = 'Preview'`))[0].n).toBe(0);

    const payouts = await people.affiliate.agent.get('/portal/affiliate/payouts').expect(200);
    expect(payouts.text).toContain('Next payout');
    expect(payouts.text).toMatch(/Threshold|payout threshold is/);

    // An invoice of the advertiser (written as a billing run writes it), as a PDF; another advertiser's is a 404.
    const [{ id: runId }] = await t.dataSource.query(
      `INSERT INTO invoice_runs (period_from, period_to, status, requested_by) VALUES (now() - interval '31 days', now() - interval '1 day', 'completed', $1) RETURNING id`,
      [cast.finance.id],
    );
    {
      const [{ id }] = await t.dataSource.query(
        `INSERT INTO invoices (run_id, advertiser_id, currency, period_from, period_to, amount, conversions, status, lines)
         VALUES ($1, $2, 'USD', now() - interval '31 days', now() - interval '1 day', 4500, 3, 'open', $3) RETURNING id`,
        [runId, cast.advertiser.id, JSON.stringify([{ offerId: '00000000-0000-4000-8000-000000000001', offerName: 'Tents', goal: 'sale', conversions: 3, amount: 4500 }])],
      );
      const pdf = await people.advertiser.agent
        .get(`/portal/advertiser/invoices/${id}/pdf`)
        .buffer(true)
        .parse((res, done) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => done(null, Buffer.concat(chunks)));
        });
      expect(pdf.status).toBe(200);
      expect(pdf.headers['content-type']).toBe('application/pdf');
      expect((pdf.body as Buffer).subarray(0, 5).toString()).toBe('%PDF-');
      const list = await people.advertiser.agent.get('/portal/advertiser/invoices').query({ from: '2000-01-01' }).expect(200);
      expect(list.text).toContain(`/portal/advertiser/invoices/${id}/pdf`);
      const otherAdvertiser = await signIn(t, (await addUser(t, cast.otherAdvertiser.id, uniqueEmail('other-adv'))).email);
      expect((await otherAdvertiser.agent.get(`/portal/advertiser/invoices/${id}/pdf`)).status).toBe(404);
    }
  });

  it('forgot password: mails a one-time link (same answer for unknown addresses), sets the new password, signs out everywhere', async () => {
    const sent: { to: string; text: string }[] = [];
    const { email } = await addUser(t, cast.affiliate.id, uniqueEmail('forgetful'));
    // Mail goes to a list instead of an SMTP server (the SMTP_URL transport is nodemailer's).
    Object.assign(t.app.get(InviteMailer), { transport: { sendMail: async (mail: { to: string; text: string }) => void sent.push(mail) } });
    const before = await signIn(t, email);
    const agent = request.agent(t.app.getHttpServer());
    const ask = async (address: string) => {
      const form = await agent.get('/portal/forgot').expect(200);
      return agent
        .post('/portal/forgot')
        .type('form')
        .send({ _csrf: csrfOf(form.text), email: address })
        .expect(200);
    };
    const unknown = await ask(uniqueEmail('nobody'));
    expect(unknown.text).toContain('Check your mail');
    expect(sent).toHaveLength(0);
    const known = await ask(email.toUpperCase());
    expect(known.text).toContain('Check your mail');
    expect(sent.map((m) => m.to)).toEqual([email]);
    const link = /http:\/\/afflux\.test(\/portal\/reset\/[\w-]{43})/.exec(sent[0].text)?.[1] as string;
    expect(link).toBeDefined();
    const page = await agent.get(link).expect(200);
    const weak = await agent
      .post(link)
      .type('form')
      .send({ _csrf: csrfOf(page.text), password: 'short' })
      .expect(422);
    expect(weak.text).toMatch(/field-error">[A-Z]/);
    const done = await agent
      .post(link)
      .type('form')
      .send({ _csrf: csrfOf(page.text), password: 'a brand new long password' })
      .expect(303);
    expect(done.headers.location).toBe('/portal/login?notice=password_reset');
    expect((await before.agent.get('/portal/affiliate')).status).toBe(303);
    await signIn(t, email, 'a brand new long password');
    expect((await agent.get(link)).status).toBe(404);
  });

  it('says what is wrong in words, for every field at once, and never echoes an invalid currency into labels', async () => {
    const { agent, csrf } = people.advertiser;
    const res = await agent.post('/portal/advertiser/offers').type('form').send({
      _csrf: csrf,
      name: '',
      landingUrl: '',
      currency: 'XYZ',
      attributionWindowDays: '-5',
      'goals.0.key': 'sale',
      'goals.0.revenue.type': 'flat',
      'goals.0.revenue.value': '5.00',
      'goals.0.payout.type': 'flat',
      'goals.0.payout.value': '3.00',
    });
    expect(res.status).toBe(422);
    const errors = [...res.text.matchAll(/<small id="f-([\w.-]+)-error" class="field-error">([^<]*)<\/small>/g)].map(([, field, message]) => [field, message]);
    expect(Object.fromEntries(errors)).toMatchObject({ name: 'Required.', attributionWindowDays: 'At least 1.' });
    expect(errors.length).toBeGreaterThanOrEqual(3);
    expect(res.text).not.toMatch(/must be longer than or equal to|must not be greater than 365/);
    expect(res.text).not.toMatch(/Fixed XYZ|\(XYZ\)|in XYZ/);

    const form = await t.http.get('/portal/signup').expect(200);
    const signup = await t.http
      .post('/portal/signup')
      .set('cookie', (form.headers['set-cookie'] as unknown as string[]).map((c) => c.split(';')[0]).join('; '))
      .type('form')
      .send({ _csrf: csrfOf(form.text), company: '', name: '', email: 'not-an-email', password: 'short', timeZone: 'UTC' });
    expect(signup.status).toBe(422);
    const signupErrors = [...signup.text.matchAll(/<small id="f-([\w.-]+)-error"/g)].map(([, field]) => field);
    expect(signupErrors).toEqual(expect.arrayContaining(['company', 'name', 'email', 'password']));
  });

  it('creates a partner with post/redirect/get: a reload shows the one-time key again and creates nothing more', async () => {
    const email = uniqueEmail('prg');
    const res = await admin.agent.post('/portal/admin/principals').type('form').send({ _csrf: admin.csrf, role: 'advertiser', name: 'Reload Co', email });
    expect(res.status).toBe(303);
    expect(res.headers.location).toMatch(/^\/portal\/admin\/principals\/[\w-]+\/created$/);
    const first = await admin.agent.get(res.headers.location).expect(200);
    const key = /id="first-key" value="([^"]+)"/.exec(first.text)?.[1];
    expect(key).toMatch(/^afx_/);
    const again = await admin.agent.get(res.headers.location).expect(200);
    expect(again.text).toContain(`value="${key}"`);
    expect((await t.dataSource.query(`SELECT count(*)::int AS n FROM principals WHERE email = $1`, [email]))[0].n).toBe(1);
    // Nobody else sees it.
    const other = await signIn(t, (await addUser(t, (await t.dataSource.query(`SELECT id FROM principals WHERE role = 'admin' LIMIT 1`))[0].id, uniqueEmail('admin2'))).email);
    const elsewhere = await other.agent.get(res.headers.location);
    expect(elsewhere.status).toBe(303);
    expect(elsewhere.headers.location).not.toContain('created');
  });

  it('smaller things: one tab highlighted with the pending count, the welcome notice kept, SEO/SEM, favicon, compressed assets, no empty payout run', async () => {
    // Tabs: "Awaiting approval" alone is current, with the count of applicants.
    const [{ n: pending }] = await t.dataSource.query(`SELECT count(*)::int AS n FROM principals WHERE role = 'affiliate' AND status = 'pending'`);
    const tabs = await admin.agent.get('/portal/admin?role=affiliate&status=pending').expect(200);
    const nav = tabs.text.slice(tabs.text.indexOf('<nav class="tabs"'), tabs.text.indexOf('</nav>', tabs.text.indexOf('<nav class="tabs"')));
    expect(nav.match(/aria-current="page"/g)).toHaveLength(1);
    expect(nav).toMatch(new RegExp(`Awaiting approval <span class="count"[^>]*>${pending}</span>`));
    // The welcome notice survives the hop from /portal to the role's home.
    const home = await people.affiliate.agent.get('/portal?notice=welcome').expect(303);
    expect(home.headers.location).toBe('/portal/affiliate?notice=welcome');
    // Channels as people write them.
    const offer = await createOffer(t, cast.advertiser, { visibility: 'public' });
    await createLink(t, cast.affiliate, offer.id, { channel: 'seo', label: 'Search' });
    const links = await people.affiliate.agent.get('/portal/affiliate/links').expect(200);
    expect(links.text).toContain('SEO');
    expect(links.text).not.toMatch(/>Seo</);
    // A favicon, and assets sent compressed.
    expect(links.text).toMatch(/<link rel="icon" href="data:image\/svg\+xml/);
    const css = await t.http.get('/portal/assets/portal.css').set('accept-encoding', 'gzip, deflate, br').expect(200);
    expect(css.headers['content-encoding']).toBe('br');
    expect(css.headers.vary).toContain('accept-encoding');
    // A payout run with nobody due is refused, and no run is recorded.
    const before = (await t.dataSource.query(`SELECT count(*)::int AS n FROM payout_runs WHERE currency = 'JPY'`))[0].n;
    const run = await people.finance.agent.post('/portal/finance/payout-runs').type('form').send({ _csrf: people.finance.csrf, currency: 'JPY', dryRun: 'false' });
    expect(run.status).toBe(422);
    expect(run.text).toContain('Nobody is due a payout in JPY now');
    expect((await t.dataSource.query(`SELECT count(*)::int AS n FROM payout_runs WHERE currency = 'JPY'`))[0].n).toBe(before);
  });
  it('statements say the same thing in CSV and PDF: every time in UTC (the CSV as the API has it), the days of the period in the person’s zone', async () => {
    const { txnId } = await pendingConversion('ZONE');
    const { email } = await addUser(t, cast.affiliate.id, uniqueEmail('kathmandu'), 'Kai');
    await t.dataSource.query(`UPDATE portal_users SET time_zone = 'Asia/Kathmandu' WHERE lower(email) = lower($1)`, [email]);
    const person = await signIn(t, email);
    expect((await person.agent.get('/portal/affiliate/statements').expect(200)).text).toContain('The days are those of your time zone (Asia/Kathmandu)');
    const day = new Date().toISOString().slice(0, 10);
    const days = `from=${day}&to=${new Date(Date.now() + 86_400_000).toISOString().slice(0, 10)}`;
    const csv = await person.agent.get(`/portal/affiliate/statements/download?${days}&format=csv`).expect(200);
    const line = csv.text.split('\n').find((l) => l.includes(txnId));
    expect(line).toBeDefined();
    const at = (line as string).split(',')[0];
    expect(at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const pdf = await person.agent.get(`/portal/affiliate/statements/download?${days}&format=pdf`).buffer(true).parse(binary).expect(200);
    const text = pdfText(pdf.body as Buffer);
    expect(text).toMatch(/Times\s+in UTC, as in the CSV/);
    expect(text).toContain(', days in Asia/Kathmandu');
    expect(text).toContain('Date (UTC)');
    // The line's time as the CSV has it, not 5:45 later.
    expect(text).toContain(`${at.slice(0, 10)} ${at.slice(11, 16)}`);
  });
});

describe('the portal, as people use it: the postback test result', () => {
  let t: TestApp;
  let receiver: PartnerPostbackReceiver;
  let affiliate: SignedInAgent;
  let apiKey: string;

  beforeAll(async () => {
    receiver = new PartnerPostbackReceiver();
    await receiver.start();
    t = await createTestApp({ env: { POSTBACK_ALLOW_PRIVATE_NETWORKS: 'true' } });
    const cast = await createCast(t);
    apiKey = cast.affiliate.apiKey;
    affiliate = await signIn(t, (await addUser(t, cast.affiliate.id, uniqueEmail('affiliate'), 'Affi')).email);
  });
  afterAll(async () => {
    await t.close();
    await receiver.stop();
  });

  it('shows the status line and the answer apart ("HTTP 200", then the body), not run together', async () => {
    await t.http
      .put('/v1/postback-settings')
      .set({ Authorization: `Bearer ${apiKey}` })
      .send({ urlTemplate: `http://127.0.0.1:${receiver.port}/pb?t={txn_id}` })
      .expect(200);
    const res = await affiliate.agent.post('/portal/affiliate/postbacks/test').set('HX-Request', 'true').type('form').send({ _csrf: affiliate.csrf }).expect(200);
    expect(receiver.received).toHaveLength(1);
    expect(res.text).toContain('← HTTP 200</pre>');
    // An answer with a body (an attempt that kept an excerpt) shows it on lines of its own.
    const views = t.app.get(PortalViews);
    const attempt = { url: 'https://tracker.example/pb', latencyMs: 12, statusCode: 200, error: null, responseExcerpt: 'OK' };
    const html = views.render({ url: '/portal/affiliate/postbacks/test', query: {} } as FastifyRequest, undefined, 'affiliate/postback-test', { attempt, problem: null });
    expect(html).toContain('← HTTP 200\n\nOK</pre>');
    expect(html).not.toContain('HTTP 200OK');
  });
});
