import type { TestApp } from './create-test-app';

export interface PrincipalHandle {
  id: string;
  apiKey: string;
  postbackToken?: string;
}

let counter = 0;
const unique = (label: string) => `${label}-${Date.now().toString(36)}-${++counter}`;

export const auth = (key: string) => ({ Authorization: `Bearer ${key}` });

async function createPrincipal(t: TestApp, path: string, name: string): Promise<PrincipalHandle> {
  const res = await t.http
    .post(path)
    .set(auth(t.adminKey))
    .send({ name, email: `${unique(name.toLowerCase().replace(/[^a-z0-9]+/g, '-'))}@example.test` });
  if (res.status !== 201) throw new Error(`${path}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as PrincipalHandle;
}

export const createAdvertiser = (t: TestApp, name = 'advertiser') => createPrincipal(t, '/v1/advertisers', name);
export const createAffiliate = (t: TestApp, name = 'affiliate') => createPrincipal(t, '/v1/affiliates', name);
export const createFinanceUser = (t: TestApp, name = 'finance') => createPrincipal(t, '/v1/finance-users', name);

export function offerBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: unique('Offer'),
    landingUrl: 'https://shop.example/landing?cid={click_id}&aff={affiliate_id}&s1={sub1}',
    currency: 'USD',
    visibility: 'public',
    lockPeriodDays: 30,
    goals: [
      { key: 'sale', revenue: { type: 'percent', bps: 1500 }, payout: { type: 'percent', bps: 1000 } },
      { key: 'lead', revenue: { type: 'flat', amount: 500 }, payout: { type: 'flat', amount: 300 } },
    ],
    ...overrides,
  };
}

export interface OfferHandle {
  id: string;
  currency: string;
  [key: string]: unknown;
}

export async function createOffer(t: TestApp, advertiser: PrincipalHandle, overrides: Record<string, unknown> = {}): Promise<OfferHandle> {
  const res = await t.http.post('/v1/offers').set(auth(advertiser.apiKey)).send(offerBody(overrides));
  if (res.status !== 201) throw new Error(`create offer: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as OfferHandle;
}
