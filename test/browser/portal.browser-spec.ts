import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Browser, BrowserContext, Page } from 'playwright-core';
import { PrincipalsService } from '../../src/modules/principals/principals.service';
import { createTestApp, TestApp } from '../support/create-test-app';
import { drainQueues } from '../support/drain';
import { createAdvertiser, createFinanceUser, createOffer, OfferHandle, PrincipalHandle } from '../support/factories';
import { StripeEmulator } from '../support/stripe-emulator/emulator';
import { DESKTOP, PHONE, expectAccessible, launch, screenshot, signInAs, visit } from './browser';
import { addUser, PASSWORD, uniqueEmail } from './portal-fixtures';

const WEBHOOK_SECRET = 'whsec_test_portal_browser_0123456789';
const SCREENSHOTS = join(__dirname, '..', '..', 'docs', 'screenshots');

/**
 * The three journeys of the portal in a real browser (Debian's Chromium through playwright-core),
 * against the app as production runs it: the same AppModule and configureApp, workers in the
 * process, listening on a port, Stripe played by the local emulator. Every page visited is checked
 * with axe-core; each journey ends with a screenshot in test/artifacts.
 */
describe('the portal in a browser', () => {
  let t: TestApp;
  let stripe: StripeEmulator;
  let browser: Browser;
  let advertiser: PrincipalHandle;
  let offer: OfferHandle;
  let finance: PrincipalHandle;
  let usdClickId = '';
  let people: { admin: string; advertiser: string; finance: string };
  const affiliate = { company: 'Trailhead Reviews', name: 'Tess Walker', email: uniqueEmail('tess') };
  const stamp = Date.now().toString(36).toUpperCase();
  const txnId = `ORDER-${stamp}`;

  async function settle(): Promise<void> {
    await stripe.flushWebhooks();
    await drainQueues(t);
  }

  /** A page whose confirmation dialogs are answered as `dialogs.accept` says, their questions kept in `dialogs.seen`. */
  async function openPage(options: { timezoneId?: string } = {}): Promise<{ context: BrowserContext; page: Page; dialogs: { accept: boolean; seen: string[] } }> {
    const context = await browser.newContext({ viewport: DESKTOP, timezoneId: options.timezoneId ?? 'UTC', acceptDownloads: true });
    const page = await context.newPage();
    page.setDefaultTimeout(10_000);
    const dialogs = { accept: true, seen: [] as string[] };
    page.on('dialog', (dialog) => {
      dialogs.seen.push(dialog.message());
      void (dialogs.accept ? dialog.accept() : dialog.dismiss());
    });
    return { context, page, dialogs };
  }

  /** Clicks a button that moves money, first declining its confirmation (nothing may change), then accepting it. */
  async function confirmDeclinedThenAccepted(
    page: Page,
    dialogs: { accept: boolean; seen: string[] },
    click: () => Promise<unknown>,
    unchanged: () => Promise<unknown>,
  ): Promise<string> {
    const before = await unchanged();
    const url = page.url();
    dialogs.accept = false;
    dialogs.seen.length = 0;
    await click();
    await page.waitForTimeout(300);
    expect(dialogs.seen).toHaveLength(1);
    expect(page.url()).toBe(url);
    expect(await unchanged()).toEqual(before);
    dialogs.accept = true;
    dialogs.seen.length = 0;
    return url;
  }

  beforeAll(async () => {
    stripe = new StripeEmulator({ webhookSecret: WEBHOOK_SECRET });
    const { url } = await stripe.start();
    t = await createTestApp({
      workers: true,
      listen: true,
      env: { STRIPE_SECRET_KEY: 'sk_test_afflux', STRIPE_API_URL: url, STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET, STRIPE_TIMEOUT_MS: '2000', STRIPE_MAX_NETWORK_RETRIES: '1' },
    });
    stripe.setWebhookUrl(`${t.baseUrl}/webhooks/stripe`);
    browser = await launch();
    [advertiser, finance] = await Promise.all([createAdvertiser(t, 'Acme Outdoor'), createFinanceUser(t, 'Network Finance')]);
    offer = await createOffer(t, advertiser, {
      name: 'Acme Tents – Summer Sale',
      description: 'Lightweight tents and camping gear. Leads are approved after 30 days.',
      lockPeriodDays: 30,
      goals: [
        { key: 'lead', name: 'Qualified lead', revenue: { type: 'flat', amount: 2500 }, payout: { type: 'flat', amount: 1200 } },
        { key: 'sale', name: 'Sale', revenue: { type: 'percent', bps: 1500 }, payout: { type: 'percent', bps: 1000 } },
      ],
    });
    const [{ id: adminId }] = await t.dataSource.query(`SELECT id FROM principals WHERE role = 'admin' LIMIT 1`);
    people = {
      admin: (await addUser(t, adminId, uniqueEmail('ada'), 'Ada Admin')).email,
      advertiser: (await addUser(t, advertiser.id, uniqueEmail('alex'), 'Alex Partner-Manager')).email,
      finance: (await addUser(t, finance.id, uniqueEmail('fiona'), 'Fiona Finance')).email,
    };
  });

  afterAll(async () => {
    await browser?.close();
    await t?.close();
    await stripe?.stop();
  });

  it('an affiliate signs up, is approved, creates a link, and sees the pending commission of a click and a postback', async () => {
    const { context, page } = await openPage({ timezoneId: 'Europe/Berlin' });
    await visit(page, t.baseUrl, '/portal/signup');
    await page.getByLabel('Company or site name').fill(affiliate.company);
    await page.getByLabel('Your name').fill(affiliate.name);
    await page.getByLabel('Email').fill(affiliate.email);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByLabel('Where does your traffic come from?').fill('Gear reviews for hikers, 40k monthly readers, newsletter.');
    expect(await page.getByLabel('Time zone').inputValue()).toBe('Europe/Berlin');
    await Promise.all([page.waitForURL('**/portal/pending'), page.getByRole('button', { name: 'Apply' }).click()]);
    await expectAccessible(page);
    expect(await page.textContent('main')).toContain('waiting for the network');

    // The admin approves the application.
    const admin = await openPage();
    await signInAs(admin.page, t.baseUrl, people.admin);
    await visit(admin.page, t.baseUrl, '/portal/admin?role=affiliate&status=pending');
    await Promise.all([admin.page.waitForURL('**/principals/**'), admin.page.getByRole('button', { name: `Approve ${affiliate.company}` }).click()]);
    expect(await admin.page.textContent('#flash')).toContain('Approved');
    await expectAccessible(admin.page);
    await admin.context.close();

    // The affiliate picks the offer and creates a link.
    await visit(page, t.baseUrl, '/portal/affiliate/offers');
    await Promise.all([page.waitForURL(`**/offers/${offer.id}`), page.getByRole('link', { name: 'Acme Tents – Summer Sale' }).click()]);
    await expectAccessible(page);
    await page.getByLabel('Label').fill('Newsletter, June');
    await page.getByLabel('Channel').selectOption('email');
    await Promise.all([page.waitForURL('**/affiliate/links/**'), page.getByRole('button', { name: 'Create link' }).click()]);
    await expectAccessible(page);
    expect(await page.locator('.qr svg').count()).toBe(1);
    const shared = await page.getByLabel('Tracking URL').inputValue();
    const code = new URL(shared).pathname.split('/').pop() as string;

    // A visitor clicks the link; the advertiser's server sends the postback.
    const click = await fetch(`${t.baseUrl}/c/${code}?sub1=june`, { redirect: 'manual', headers: { 'user-agent': 'Mozilla/5.0 (browser test)' } });
    expect(click.status).toBe(302);
    const clickId = new URL(click.headers.get('location') as string).searchParams.get('cid') as string;
    usdClickId = clickId;
    const postback = await fetch(`${t.baseUrl}/postback?token=${advertiser.postbackToken}&click_id=${encodeURIComponent(clickId)}&goal=lead&txn_id=${txnId}`);
    expect(postback.status).toBe(201);
    // A few earlier results, spread over the past days, so the chart has a shape (demo data: dates moved back in SQL).
    for (let day = 1; day <= 9; day++) {
      const res = await fetch(
        `${t.baseUrl}/postback?token=${advertiser.postbackToken}&click_id=${encodeURIComponent(clickId)}&goal=sale&txn_id=HIST-${day}-${stamp}&amount=${(80 + day * 17).toFixed(2)}`,
      );
      expect(res.status).toBe(201);
      await t.dataSource.query(`UPDATE conversions SET created_at = now() - make_interval(days => $2) WHERE txn_id = $1`, [`HIST-${day}-${stamp}`, ((day * 3) % 11) + 1]);
    }
    await drainQueues(t);

    await visit(page, t.baseUrl, '/portal/affiliate');
    const pending = page.locator('.tile', { hasText: 'Pending (USD)' });
    expect(await pending.locator('.tile-value').textContent()).toMatch(/^\$\d+\.\d{2}$/);
    await page.locator('#commissions-chart canvas').first().waitFor();
    await visit(page, t.baseUrl, '/portal/affiliate/conversions');
    expect(await page.locator('tr', { hasText: txnId }).textContent()).toContain('$12.00');
    // The user menu closes with Escape, and the focus goes back to its toggle.
    await page.locator('.user-menu summary').click();
    expect(await page.locator('.user-menu').getAttribute('open')).not.toBeNull();
    await page.keyboard.press('Escape');
    expect(await page.locator('.user-menu').getAttribute('open')).toBeNull();
    expect(await page.evaluate('document.activeElement && document.activeElement.tagName')).toBe('SUMMARY');
    for (const path of [
      '/portal/affiliate/links',
      '/portal/affiliate/coupons',
      '/portal/affiliate/postbacks',
      '/portal/affiliate/statements',
      '/portal/api-keys',
      '/portal/settings',
    ])
      await visit(page, t.baseUrl, path);

    // Stripe onboarding, so that finance can pay the affiliate later.
    await visit(page, t.baseUrl, '/portal/affiliate/payouts');
    await Promise.all([page.waitForURL('**/payouts/onboard'), page.getByRole('button', { name: 'Set up payouts with Stripe' }).click()]);
    await expectAccessible(page);
    const [{ stripe_account_id: accountId }] = await t.dataSource.query(
      `SELECT pa.stripe_account_id FROM payout_accounts pa JOIN principals p ON p.id = pa.affiliate_id WHERE p.email = $1`,
      [affiliate.email],
    );
    stripe.completeOnboarding(accountId);
    await settle();

    await visit(page, t.baseUrl, '/portal/affiliate');
    await page.locator('#commissions-chart canvas').first().waitFor();
    await screenshot(page, 'affiliate');
    await context.close();
  });

  it('an admin turns an application away: Reject… with a reason, asked first; the applicant is signed out and cannot sign in', async () => {
    const applicant = { company: 'Coupon Stackers', email: uniqueEmail('stacker') };
    const { context, page } = await openPage();
    await visit(page, t.baseUrl, '/portal/signup');
    await page.getByLabel('Company or site name').fill(applicant.company);
    await page.getByLabel('Your name').fill('Sam Stacker');
    await page.getByLabel('Email').fill(applicant.email);
    await page.getByLabel('Password').fill(PASSWORD);
    await Promise.all([page.waitForURL('**/portal/pending'), page.getByRole('button', { name: 'Apply' }).click()]);

    const admin = await openPage();
    await signInAs(admin.page, t.baseUrl, people.admin);
    await visit(admin.page, t.baseUrl, '/portal/admin?role=affiliate&status=pending');
    await Promise.all([admin.page.waitForURL('**/principals/**'), admin.page.getByRole('button', { name: `Reject ${applicant.company}` }).click()]);
    await admin.page.getByRole('button', { name: 'Reject…' }).click();
    await admin.page.getByLabel('Reason (optional, kept for the record)').fill('Coupon sites are not part of this program');
    const status = async () => (await t.dataSource.query(`SELECT status FROM principals WHERE lower(email) = lower($1)`, [applicant.email]))[0].status;
    await confirmDeclinedThenAccepted(admin.page, admin.dialogs, () => admin.page.getByRole('button', { name: 'Reject application' }).click(), status);
    await Promise.all([admin.page.waitForURL('**notice=rejected'), admin.page.getByRole('button', { name: 'Reject application' }).click()]);
    expect(admin.dialogs.seen).toEqual([expect.stringContaining(`Reject the application of ${applicant.company}?`)]);
    expect(await admin.page.textContent('#flash')).toContain('Rejected');
    expect(await admin.page.textContent('main')).toContain('Coupon sites are not part of this program');
    expect(await status()).toBe('rejected');
    await expectAccessible(admin.page);
    await admin.context.close();

    // The applicant's session is over, and the password no longer signs in.
    await page.reload();
    expect(page.url()).toContain('/portal/login');
    await page.getByLabel('Email').fill(applicant.email);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForSelector('text=turned this application down');
    await context.close();
  });

  it('an advertiser edits a payout rule and approves a conversion', async () => {
    const { context, page, dialogs } = await openPage({ timezoneId: 'America/New_York' });
    await signInAs(page, t.baseUrl, people.advertiser);
    await visit(page, t.baseUrl, '/portal/advertiser/offers');
    await Promise.all([page.waitForURL(`**/offers/${offer.id}`), page.getByRole('link', { name: 'Acme Tents – Summer Sale' }).click()]);
    await expectAccessible(page);
    await page.locator('input[name="goals.0.payout.value"]').fill('15.00');
    await Promise.all([page.waitForURL('**?notice=saved'), page.getByRole('button', { name: 'Save changes' }).click()]);
    expect(await page.textContent('#flash')).toContain('Saved');
    expect(await page.locator('input[name="goals.0.payout.value"]').inputValue()).toBe('15.00');
    await expectAccessible(page);
    const [goal] = await t.dataSource.query(`SELECT payout FROM offer_goals WHERE offer_id = $1 AND key = 'lead'`, [offer.id]);
    expect(goal.payout).toEqual({ type: 'flat', amount: 1500 });
    await screenshot(page, 'advertiser-offer');

    await visit(page, t.baseUrl, '/portal/advertiser/conversions');
    // A pending conversion can be approved or rejected, not reversed (nothing was paid to reverse).
    const histRow = page.locator('tr', { hasText: `HIST-3-${stamp}` });
    expect(await histRow.getByRole('button', { name: /^Reverse/ }).count()).toBe(0);
    // Rejecting asks for the reason the affiliate will read, then for a confirmation.
    await histRow.getByText('Reject…').click();
    await histRow.getByLabel('Reason for the affiliate').fill('Order cancelled by the customer');
    const status = async () => (await t.dataSource.query(`SELECT status FROM conversions WHERE txn_id = $1`, [`HIST-3-${stamp}`]))[0].status;
    await confirmDeclinedThenAccepted(page, dialogs, () => histRow.getByRole('button', { name: `Reject conversion HIST-3-${stamp}` }).click(), status);
    await Promise.all([
      page.waitForURL((url) => url.searchParams.get('notice') === 'rejected'),
      histRow.getByRole('button', { name: `Reject conversion HIST-3-${stamp}` }).click(),
    ]);
    expect(dialogs.seen).toEqual([expect.stringContaining('Reject')]);
    const [rejected] = await t.dataSource.query(`SELECT status, reason FROM conversions WHERE txn_id = $1`, [`HIST-3-${stamp}`]);
    expect(rejected).toEqual({ status: 'rejected', reason: 'Order cancelled by the customer' });
    await expectAccessible(page);
    const row = page.locator('tr', { hasText: txnId });
    dialogs.seen.length = 0;
    await row.getByRole('button', { name: `Approve conversion ${txnId}`, exact: true }).click();
    await page.locator('tr.updated', { hasText: 'Approved' }).waitFor();
    expect(dialogs.seen).toEqual([expect.stringContaining('Approve')]);
    await expectAccessible(page);
    await drainQueues(t);
    const [conversion] = await t.dataSource.query(`SELECT status FROM conversions WHERE txn_id = $1`, [txnId]);
    expect(conversion.status).toBe('approved');
    for (const path of [
      '/portal/advertiser',
      '/portal/advertiser/applications',
      '/portal/advertiser/coupons',
      '/portal/advertiser/integration',
      '/portal/advertiser/invoices',
      `/portal/advertiser/offers/new`,
    ])
      await visit(page, t.baseUrl, path);
    await visit(page, t.baseUrl, '/portal/advertiser/conversions');
    await screenshot(page, 'advertiser');
    await visit(page, t.baseUrl, '/portal/advertiser');
    await page.locator('#stats-chart canvas').first().waitFor();
    await screenshot(page, 'advertiser-stats');
    await context.close();
  });

  it('finance previews and runs a payout through Stripe and downloads a statement', async () => {
    const { context, page, dialogs } = await openPage();
    await signInAs(page, t.baseUrl, people.finance);
    await visit(page, t.baseUrl, '/portal/finance');
    await page.getByLabel('Currency').selectOption('USD');
    // Every button that moves money asks first; declined, nothing happens.
    const runs = async () => (await t.dataSource.query(`SELECT count(*)::int AS n FROM payout_runs`))[0].n;
    await confirmDeclinedThenAccepted(page, dialogs, () => page.getByRole('button', { name: 'Start payout run' }).click(), runs);
    await Promise.all([page.waitForURL('**/payout-runs/**'), page.getByRole('button', { name: 'Preview (dry run)' }).click()]);
    await expectAccessible(page);
    expect(await page.locator('tr', { hasText: affiliate.company }).textContent()).toContain('$12.00');
    expect(stripe.transfers()).toHaveLength(0);

    const preview = await confirmDeclinedThenAccepted(page, dialogs, () => page.getByRole('button', { name: 'Start payout run' }).click(), runs);
    await Promise.all([page.waitForURL((url) => url.href !== preview), page.getByRole('button', { name: 'Start payout run' }).click()]);
    expect(dialogs.seen).toEqual([expect.stringContaining('Pay these affiliates')]);
    await page.getByText(/^Completed /).waitFor({ timeout: 30_000 });
    await expectAccessible(page);
    const transferRow = page.locator('#run-progress tr', { hasText: affiliate.company });
    expect(await transferRow.textContent()).toMatch(/\$12\.00[\s\S]*Paid[\s\S]*tr_/);
    expect(stripe.transfers().map((tr) => tr.amount)).toEqual([1200]);
    await screenshot(page, 'finance-payout');

    await visit(page, t.baseUrl, '/portal/finance/invoices');
    const invoiceRuns = async () => (await t.dataSource.query(`SELECT count(*)::int AS n FROM invoice_runs`))[0].n;
    await confirmDeclinedThenAccepted(page, dialogs, () => page.getByRole('button', { name: 'Run billing' }).click(), invoiceRuns);
    await visit(page, t.baseUrl, '/portal/finance/statements');
    await page.getByLabel('Affiliate').selectOption({ label: `${affiliate.company} (${affiliate.email})` });
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download CSV' }).click()]);
    const csv = readFileSync(await download.path(), 'utf8');
    expect(csv).toContain(txnId);
    expect(csv).toMatch(/payout.*tr_/);
    await screenshot(page, 'finance');
    await context.close();
  });

  it('reports: each role sees the numbers of /v1/reports/stats, grouped as picked, sorted, charted per currency, as CSV', async () => {
    // A second currency: a euro offer of the same advertiser, a click and a sale on it through the affiliate's own link.
    const [{ id: affiliateId }] = await t.dataSource.query(`SELECT id FROM principals WHERE email = $1 AND role = 'affiliate'`, [affiliate.email]);
    const { key: affiliateKey } = await t.app.get(PrincipalsService).createApiKey({ id: affiliateId, role: 'affiliate' } as never, undefined, 'reports test');
    // A postback in euros on the dollar offer is rejected: the affiliate sees no commission, the advertiser no empty euro totals.
    const mismatch = await fetch(
      `${t.baseUrl}/postback?token=${advertiser.postbackToken}&click_id=${encodeURIComponent(usdClickId)}&goal=sale&txn_id=MISMATCH-${stamp}&amount=99.00&currency=EUR`,
    );
    expect(mismatch.status).toBe(201);
    await drainQueues(t);
    const [mismatched] = await t.dataSource.query(`SELECT status, reason FROM conversions WHERE txn_id = $1`, [`MISMATCH-${stamp}`]);
    expect(mismatched).toEqual({ status: 'rejected', reason: 'currency_mismatch' });
    {
      const { context, page } = await openPage();
      await signInAs(page, t.baseUrl, affiliate.email);
      await visit(page, t.baseUrl, '/portal/affiliate/conversions');
      const cells = await page
        .locator('tr', { hasText: `MISMATCH-${stamp}` })
        .locator('td')
        .allTextContents();
      expect(cells[5]).toBe('—');
      await context.close();
      const other = await openPage();
      await signInAs(other.page, t.baseUrl, people.advertiser);
      await visit(other.page, t.baseUrl, '/portal/advertiser');
      expect(await other.page.locator('section[aria-label="EUR totals"]').count()).toBe(0);
      await other.context.close();
    }
    const euroOffer = await createOffer(t, advertiser, { name: 'Acme Kayaks – Euro shop', currency: 'EUR' });
    const link = await fetch(`${t.baseUrl}/v1/links`, {
      method: 'POST',
      headers: { authorization: `Bearer ${affiliateKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ offerId: euroOffer.id, channel: 'social', sub1: 'eu-kayak' }),
    });
    expect(link.status).toBe(201);
    const { code } = (await link.json()) as { code: string };
    const euroClick = await fetch(`${t.baseUrl}/c/${code}`, { redirect: 'manual', headers: { 'user-agent': 'Mozilla/5.0 (browser test)' } });
    const euroClickId = new URL(euroClick.headers.get('location') as string).searchParams.get('cid') as string;
    const sale = await fetch(
      `${t.baseUrl}/postback?token=${advertiser.postbackToken}&click_id=${encodeURIComponent(euroClickId)}&goal=sale&txn_id=EUR-${stamp}&amount=200.00&currency=EUR`,
    );
    expect(sale.status).toBe(201);
    await drainQueues(t);

    const people3 = [
      { role: 'advertiser', email: people.advertiser, key: advertiser.apiKey },
      { role: 'affiliate', email: affiliate.email, key: affiliateKey },
      { role: 'finance', email: people.finance, key: finance.apiKey },
    ];
    for (const person of people3) {
      const { context, page } = await openPage();
      await signInAs(page, t.baseUrl, person.email);
      const timeZone = (await page.locator('.page-footer strong').textContent()) as string;
      const to = new Intl.DateTimeFormat('en-CA', { timeZone }).format(new Date());
      const from = new Date(Date.parse(to) - 29 * 86_400_000).toISOString().slice(0, 10);
      // Between them the three people try every grouping.
      const groupings = { advertiser: ['offer', 'channel'], affiliate: ['sub1', 'day', 'offer'], finance: ['affiliate', 'country', 'offer'] }[person.role] as string[];
      for (const groupBy of groupings) {
        const measure = person.role === 'affiliate' ? 'payout' : 'revenue';
        await visit(page, t.baseUrl, `/portal/reports?from=${from}&to=${to}&groupBy=${groupBy}&measure=${measure}`);
        const res = await fetch(`${t.baseUrl}/v1/reports/stats?from=${from}&to=${to}&timezone=${encodeURIComponent(timeZone)}&groupBy=${groupBy}`, {
          headers: { authorization: `Bearer ${person.key}` },
        });
        expect(res.status).toBe(200);
        const api = (await res.json()) as { data: Record<string, unknown>[]; totals: Record<string, unknown> & { byCurrency: Record<string, unknown>[] } };
        expect(api.data.length).toBeGreaterThan(0);
        // The KPI row: counts and rates over all currencies, money per currency.
        const kpis = await page
          .locator('[data-kpi]')
          .evaluateAll((els) => els.map((el) => [el.getAttribute('data-kpi'), el.getAttribute('data-currency'), el.getAttribute('data-value')]));
        expect(kpis.length).toBeGreaterThan(5);
        for (const [key, currency, value] of kpis) {
          const source = currency ? api.totals.byCurrency.find((r) => r.currency === currency) : api.totals;
          expect([groupBy, key, currency, value]).toEqual([groupBy, key, currency, source?.[key as string] === null ? '' : String(source?.[key as string])]);
        }
        expect(await page.locator('[data-kpi="clicks"]:not([data-currency]) .tile-value').textContent()).toBe((api.totals.clicks as number).toLocaleString('en-US'));
        // The table: one row per group and currency, every figure the API's.
        const key = groupBy === 'offer' ? 'offerId' : groupBy === 'affiliate' ? 'affiliateId' : groupBy;
        const rows = await page.locator('#report-table tbody tr').evaluateAll((trs) =>
          trs.map((tr) => ({
            group: tr.getAttribute('data-group'),
            currency: tr.getAttribute('data-currency'),
            figures: Object.fromEntries([...tr.querySelectorAll('td[data-measure]')].map((td) => [td.getAttribute('data-measure'), td.getAttribute('data-value')])),
          })),
        );
        expect(rows).toHaveLength(api.data.length);
        for (const row of rows) {
          const match = api.data.find((r) => (r[key] ?? '') === row.group && r.currency === row.currency);
          expect(match).toBeDefined();
          for (const [measureKey, value] of Object.entries(row.figures))
            expect([groupBy, row.group, measureKey, value]).toEqual([groupBy, row.group, measureKey, match?.[measureKey] === null ? '' : String(match?.[measureKey])]);
        }
        // Money is charted with one axis per currency (the euro offer and the dollar offer).
        if (groupBy === 'offer') expect(await page.locator('#report-chart').getAttribute('data-axes')).toBe('EUR,USD');
      }
      // Sorting by a column, and the same rows as CSV.
      await page.getByRole('link', { name: 'Clicks', exact: true }).click();
      await page.waitForURL((url) => url.searchParams.get('sort') === 'clicks');
      const clicks = (await page.locator('#report-table tbody td[data-measure="clicks"]').evaluateAll((tds) => tds.map((td) => Number(td.getAttribute('data-value'))))) as number[];
      expect(clicks).toEqual([...clicks].sort((a, b) => b - a));
      const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download CSV' }).click()]);
      const csv = readFileSync(await download.path(), 'utf8')
        .trim()
        .split('\r\n');
      expect(csv).toHaveLength(clicks.length + 1);
      expect(csv[0]).toContain('clicks');
      await visit(page, t.baseUrl, `/portal/reports?from=${from}&to=${to}&groupBy=${person.role === 'affiliate' ? 'sub1' : 'offer'}&measure=clicks`);
      await page.locator('#report-chart canvas').first().waitFor();
      await screenshot(page, `reports-${person.role}`);
      await page.setViewportSize(PHONE);
      await page.waitForTimeout(200);
      await screenshot(page, `reports-${person.role}-phone`);
      await context.close();
    }
  });

  afterAll(() => {
    // The README shows one screenshot per role (committed under docs/screenshots).
    mkdirSync(SCREENSHOTS, { recursive: true });
    for (const [from, to] of [
      ['affiliate', 'affiliate'],
      ['advertiser', 'advertiser'],
      ['finance-payout', 'finance'],
      ['reports-advertiser', 'reports-advertiser'],
      ['reports-affiliate', 'reports-affiliate'],
      ['reports-finance', 'reports-finance'],
      ['reports-advertiser-phone', 'reports-advertiser-phone'],
    ]) {
      try {
        copyFileSync(join(__dirname, '..', 'artifacts', `${from}.png`), join(SCREENSHOTS, `${to}.png`));
      } catch {
        /* a failed journey leaves no screenshot to copy */
      }
    }
  });
});
