import { Api, mapLimit } from '../lib/http';
import type { Stack } from '../lib/stack';

export interface Principal {
  id: string;
  apiKey: string;
  postbackToken?: string;
}

export interface Network {
  advertiser: Principal;
  advertiserApi: Api;
  finance: Principal;
  financeApi: Api;
  /** USD, 30-day lock: conversions stay pending (commission posted, nothing payable). */
  offer: { id: string };
  affiliates: Principal[];
}

let seq = 0;
export const unique = (label: string) => `${label}-${Date.now().toString(36)}-${++seq}`;

export const LANDING = 'https://shop.example/landing?cid={click_id}&aff={affiliate_id}&s1={sub1}';

export function offerBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: unique('Bench offer'),
    landingUrl: LANDING,
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

export async function createPrincipal(stack: Stack, kind: 'advertisers' | 'affiliates' | 'finance-users', name: string): Promise<Principal> {
  return stack.admin.post<Principal>(`/v1/${kind}`, { name, email: `${unique(name.toLowerCase().replace(/[^a-z0-9]+/g, '-'))}@bench.example` }, [201]);
}

/** The principals and the offer most workloads share, created through the real API. */
export async function seedNetwork(stack: Stack, affiliates: number): Promise<Network> {
  const advertiser = await createPrincipal(stack, 'advertisers', 'Bench Advertiser');
  const finance = await createPrincipal(stack, 'finance-users', 'Bench Finance');
  const advertiserApi = stack.admin.as(advertiser.apiKey);
  const offer = await advertiserApi.post<{ id: string }>('/v1/offers', offerBody(), [201]);
  const affs = await mapLimit(
    Array.from({ length: affiliates }, (_, i) => i),
    8,
    (i) => createPrincipal(stack, 'affiliates', `Bench Affiliate ${i}`),
  );
  return { advertiser, advertiserApi, finance, financeApi: stack.admin.as(finance.apiKey), offer, affiliates: affs };
}

/** A tracking link of `affiliate` on `offerId`; answers its id and code. */
export function createLink(stack: Stack, affiliate: Principal, offerId: string, extra: Record<string, unknown> = {}): Promise<{ id: string; code: string }> {
  return stack.admin.as(affiliate.apiKey).post('/v1/links', { offerId, ...extra }, [201]);
}

/** A genuine click id, from a real redirect's Location (`cid=`). */
export async function clickIdFrom(stack: Stack, code: string): Promise<string> {
  const location = await new Api(stack.baseUrl).location(`/c/${code}`);
  const cid = new URL(location).searchParams.get('cid');
  if (!cid) throw new Error(`no cid in ${location}`);
  return cid;
}
