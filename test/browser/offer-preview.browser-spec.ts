import { Browser, Page } from 'playwright-core';
import { createTestApp, TestApp } from '../support/create-test-app';
import { createAdvertiser, createOffer, OfferHandle, PrincipalHandle } from '../support/factories';
import { DESKTOP, launch, signInAs, visit } from './browser';
import { addUser, uniqueEmail } from './portal-fixtures';

/** The offer editor's earnings preview follows the rules as they are typed (assets/portal.js), as the server would render them. */
describe('the offer editor preview in a browser', () => {
  let t: TestApp;
  let browser: Browser;
  let page: Page;
  let advertiser: PrincipalHandle;
  let offer: OfferHandle;

  beforeAll(async () => {
    t = await createTestApp({ listen: true });
    browser = await launch();
    advertiser = await createAdvertiser(t, 'Preview Outfitters');
    offer = await createOffer(t, advertiser, {
      name: 'Preview boots',
      goals: [{ key: 'sale', revenue: { type: 'percent', bps: 1500 }, payout: { type: 'percent', bps: 1000 } }],
    });
    const email = (await addUser(t, advertiser.id, uniqueEmail('pat'), 'Pat Preview')).email;
    page = await (await browser.newContext({ viewport: DESKTOP, timezoneId: 'UTC' })).newPage();
    page.setDefaultTimeout(10_000);
    await signInAs(page, t.baseUrl, email);
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  const preview = () => page.locator('#goal-0-preview');

  it('shows what the affiliate earns as the rule is typed, per tier for a tiered rule, and hides it while nothing parses', async () => {
    const server = await page.request.get(`${t.baseUrl}/portal/advertiser/offers/${offer.id}`);
    const rendered = /<p class="preview" id="goal-0-preview"[^>]*>(.*?)<\/p>/s.exec(await server.text())?.[1].replace(/<\/?strong>/g, '');
    await visit(page, t.baseUrl, `/portal/advertiser/offers/${offer.id}`);
    // The script renders what the server rendered.
    expect(await preview().textContent()).toBe(rendered);
    expect(rendered).toBe('On a $100.00 sale the affiliate earns $10.00; you pay $15.00 (the network keeps $5.00).');

    await page.locator('#goal-0-payout-value').fill('12.5');
    await expect(preview().textContent()).resolves.toBe('On a $100.00 sale the affiliate earns $12.50; you pay $15.00 (the network keeps $2.50).');

    await page.locator('#goal-0-payout-type').selectOption('flat');
    await page.locator('#goal-0-payout-value').fill('3.00');
    await expect(preview().textContent()).resolves.toBe('On a $100.00 sale the affiliate earns $3.00; you pay $15.00 (the network keeps $12.00).');

    await page.locator('#goal-0-payout-type').selectOption('tiered');
    await page.locator('#goal-0-payout-value').fill('0=3.00; 50=12%');
    await expect(preview().textContent()).resolves.toBe(
      'On a $100.00 sale the affiliate earns $3.00 in tier 1 (from 0 conversions this month) and $12.00 in tier 2 (from 50 conversions this month); you pay $15.00.',
    );
    await page.locator('#goal-0-payout-value').fill('sales: 0=10%; 1000.00=12.5%');
    await expect(preview().textContent()).resolves.toBe(
      'On a $100.00 sale the affiliate earns $10.00 in tier 1 (from $0.00 of sales this month) and $12.50 in tier 2 (from $1,000.00 of sales this month); you pay $15.00.',
    );

    // A rule that does not parse drops its part; with none left, the preview hides.
    await page.locator('#goal-0-payout-value').fill('0=3.00; 50');
    await expect(preview().textContent()).resolves.toBe('On a $100.00 sale you pay $15.00.');
    await page.locator('#goal-0-revenue-value').fill('');
    expect(await preview().isHidden()).toBe(true);
  });
});
