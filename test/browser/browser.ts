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

export const DESKTOP = { width: 1280, height: 860 };
export const PHONE = { width: 390, height: 844 };

/** How much wider than the window the page is at a width (0 when it fits: no horizontal scroll), with the elements that stick out. */
export async function overflowAt(page: Page, viewport: { width: number; height: number }): Promise<{ path: string; width: number; over: number; culprits: string[] }> {
  const before = page.viewportSize() ?? DESKTOP;
  await page.setViewportSize(viewport);
  // Charts and layout follow a resize on the next frames.
  await page.evaluate('new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)))');
  await page.waitForTimeout(150);
  // A string, as the test code compiles without the DOM's types.
  const result = await page.evaluate<{ width: number; over: number; culprits: string[] }>(`(() => {
    const width = window.innerWidth;
    const over = document.documentElement.scrollWidth - width;
    const name = (el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (typeof el.className === 'string' && el.className ? '.' + el.className.trim().split(/\\s+/).join('.') : '');
    const culprits = over > 0 ? [...document.querySelectorAll('body *')].filter((el) => el.getBoundingClientRect().right > width + 1).slice(0, 6).map(name) : [];
    return { width, over: Math.max(0, over), culprits };
  })()`);
  await page.setViewportSize(before);
  return { path: new URL(page.url()).pathname + new URL(page.url()).search, ...result };
}

/** No horizontal scroll at 1280 px nor on a 390 px phone. */
export async function expectFits(page: Page): Promise<void> {
  for (const viewport of [DESKTOP, PHONE]) {
    const result = await overflowAt(page, viewport);
    expect(result).toEqual({ ...result, over: 0 });
  }
}

/** Goes to a path and checks it: a page, not an error, accessible, no wider than a desktop or a phone (with PORTAL_PAGE_SHOTS=1, a picture of it lands in test/artifacts/pages). */
export async function visit(page: Page, baseUrl: string, path: string): Promise<void> {
  const response = await page.goto(baseUrl + path);
  expect([path, response?.status()]).toEqual([path, 200]);
  await expectAccessible(page);
  await expectFits(page);
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
