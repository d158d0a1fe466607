import { ClickIdCodec } from '../../../src/modules/tracking/click-id';
import { offerBody } from '../../support/factories';
import type { Client } from './client';
import type { Deployment } from './deployment';

export interface Party {
  id: string;
  apiKey: string;
  postbackToken?: string;
}

let seq = 0;

/** A principal created by the admin through the API; its key and token join the deployment's secrets. */
export async function principal(d: Deployment, admin: Client, kind: 'advertisers' | 'affiliates' | 'finance-users'): Promise<Party> {
  const res = await admin('POST', `/v1/${kind}`, { body: { name: `${kind} ${++seq}`, email: `${kind}-${seq}-${Date.now()}@example.test` } });
  if (res.status !== 201) throw new Error(`create ${kind}: ${res.status} ${res.text}`);
  d.remember(res.body.apiKey, res.body.postbackToken);
  return res.body;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function expectCreated(what: string, res: { status: number; text: string; body: any }): Promise<any> {
  if (res.status !== 201 && res.status !== 200) throw new Error(`${what}: ${res.status} ${res.text}`);
  return res.body;
}

/** An advertiser with a public offer (lock period as given), an affiliate and its link. */
export async function smallNetwork(d: Deployment, api: (key?: string) => Client, offer: Record<string, unknown> = {}) {
  const admin = api(d.adminKey);
  const [advertiser, affiliate] = await Promise.all([principal(d, admin, 'advertisers'), principal(d, admin, 'affiliates')]);
  const created = await expectCreated('offer', await api(advertiser.apiKey)('POST', '/v1/offers', { body: offerBody(offer) }));
  const link = await expectCreated('link', await api(affiliate.apiKey)('POST', '/v1/links', { body: { offerId: created.id } }));
  return { advertiser, affiliate, offer: created as { id: string; currency: string }, link: link as { id: string; code: string } };
}

/** A click id the deployment's API will accept, signed with its CLICK_SECRET (no redirect needed). */
export function clickIdFor(d: Deployment, linkId: string, at = new Date(Date.now() - 60_000)): string {
  return new ClickIdCodec(d.clickSecret).issue(linkId, at);
}
