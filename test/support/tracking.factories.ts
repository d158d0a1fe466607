import request from 'supertest';
import { ClickBuffer } from '../../src/modules/tracking/click-buffer';
import { LinksService } from '../../src/modules/tracking/links.service';
import type { TestApp } from './create-test-app';
import { auth, createAdvertiser, createAffiliate, createFinanceUser, createOffer, OfferHandle, PrincipalHandle, seedClient } from './factories';
import { createLink as seedLink, LinkHandle } from './seed/factories';

export type { LinkHandle };

async function expectStatus(res: request.Response, status: number, what: string): Promise<request.Response> {
  if (res.status !== status) throw new Error(`${what}: ${res.status} ${JSON.stringify(res.body)}`);
  return res;
}

/** A tracking link created through the API by `affiliate`. */
export function createLink(t: TestApp, affiliate: PrincipalHandle, offerId: string, body: Record<string, unknown> = {}): Promise<LinkHandle> {
  return seedLink(seedClient(t), affiliate, offerId, body);
}

/** The principals scoping tests need: two of each kind that owns rows, and a finance user. */
export async function createCast(t: TestApp) {
  const [advertiser, otherAdvertiser, affiliate, otherAffiliate, finance] = await Promise.all([
    createAdvertiser(t),
    createAdvertiser(t),
    createAffiliate(t),
    createAffiliate(t),
    createFinanceUser(t),
  ]);
  return { advertiser, otherAdvertiser, affiliate, otherAffiliate, finance };
}
export type Cast = Awaited<ReturnType<typeof createCast>>;

/** An advertiser, an affiliate and a public offer of that advertiser. */
export async function createTrackingSetup(t: TestApp, offer: Record<string, unknown> = {}) {
  const [advertiser, affiliate] = await Promise.all([createAdvertiser(t), createAffiliate(t)]);
  return { advertiser, affiliate, offer: await createOffer(t, advertiser, offer) };
}

/** …plus a link of the affiliate to the offer. */
export async function createLinkedSetup(t: TestApp, offer: Record<string, unknown> = {}, link: Record<string, unknown> = {}) {
  const setup = await createTrackingSetup(t, offer);
  return { ...setup, link: await createLink(t, setup.affiliate, setup.offer.id, link) };
}

/** GET /c/:code as a browser would send it. */
export function click(t: TestApp, code: string, query: Record<string, string> = {}, headers: Record<string, string> = {}) {
  return t.http
    .get(`/c/${code}`)
    .query(query)
    .set({ 'User-Agent': 'Mozilla/5.0 (test)', ...headers })
    .redirects(0);
}

export const flushClicks = (t: TestApp) => t.app.get(ClickBuffer).flush();

/** Redirects read links from a cache of a few seconds; tests that change an offer or a principal clear it. */
export const forgetCachedLinks = (t: TestApp) => t.app.get(LinksService).clearCache();

export async function setOffer(t: TestApp, owner: PrincipalHandle, offer: OfferHandle, fields: Record<string, unknown>): Promise<void> {
  await expectStatus(await t.http.patch(`/v1/offers/${offer.id}`).set(auth(owner.apiKey)).send(fields), 200, 'update offer');
  forgetCachedLinks(t);
}

export async function setAffiliateStatus(t: TestApp, affiliate: PrincipalHandle, status: 'active' | 'suspended'): Promise<void> {
  await expectStatus(await t.http.patch(`/v1/affiliates/${affiliate.id}`).set(auth(t.adminKey)).send({ status }), 200, 'update affiliate');
  forgetCachedLinks(t);
}

/** Approves (as `decider`: the advertiser or an admin) the affiliate's access to an offer. */
export async function approveAccess(t: TestApp, deciderKey: string, offerId: string, affiliateId: string): Promise<void> {
  const res = await t.http.post(`/v1/offers/${offerId}/applications/${affiliateId}/approve`).set(auth(deciderKey)).send({});
  await expectStatus(res, 200, 'approve access');
}

export async function applyToOffer(t: TestApp, affiliate: PrincipalHandle, offerId: string): Promise<void> {
  await expectStatus(await t.http.post(`/v1/offers/${offerId}/applications`).set(auth(affiliate.apiKey)).send({}), 201, 'apply');
}

/** Clicks as stored, read straight from the table. */
export async function storedClicks(t: TestApp, where = 'true', params: unknown[] = []): Promise<Record<string, unknown>[]> {
  return t.dataSource.query(`SELECT *, host(ip) AS ip_text FROM clicks WHERE ${where} ORDER BY clicked_at, id`, params);
}
