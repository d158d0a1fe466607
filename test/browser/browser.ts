import AxeBuilder from '@axe-core/playwright';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Browser, chromium, Page } from 'playwright-core';
import { PASSWORD } from './portal-fixtures';

export const ARTIFACTS = join(__dirname, '..', 'artifacts');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export function launch(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
}

/** Fails on any serious or critical axe-core violation of the page as it is now. */
export async function expectAccessible(page: Page): Promise<void> {
  const { violations } = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  const bad = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect(bad.map((v) => ({ page: page.url(), rule: v.id, impact: v.impact, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')) }))).toEqual([]);
}

/** Goes to a path and checks it: a page, not an error, accessible (with PORTAL_PAGE_SHOTS=1, a picture of it lands in test/artifacts/pages). */
export async function visit(page: Page, baseUrl: string, path: string): Promise<void> {
  const response = await page.goto(baseUrl + path);
  expect([path, response?.status()]).toEqual([path, 200]);
  await expectAccessible(page);
  if (process.env.PORTAL_PAGE_SHOTS) await screenshot(page, `pages/${path.replace(/^\/portal\/?/, '').replace(/[^\w]+/g, '-') || 'home'}`);
}

export async function screenshot(page: Page, name: string): Promise<string> {
  const path = join(ARTIFACTS, `${name}.png`);
  mkdirSync(dirname(path), { recursive: true });
  await page.screenshot({ path, fullPage: true });
  return path;
}

export async function signInAs(page: Page, baseUrl: string, email: string, password = PASSWORD): Promise<void> {
  await visit(page, baseUrl, '/portal/login');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await Promise.all([page.waitForURL((url) => !url.pathname.endsWith('/login')), page.getByRole('button', { name: 'Sign in' }).click()]);
  await expectAccessible(page);
}
