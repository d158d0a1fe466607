import {
  clickIdOf,
  createLink as seedLink,
  createPrincipal as seedPrincipal,
  LinkHandle,
  offerBody as seedOfferBody,
  PrincipalHandle,
  PrincipalKind,
  uniqueEmail,
} from '../../test/support/seed/factories';
import { Api, mapLimit } from '../lib/http';
import type { Stack } from '../lib/stack';

/** The shared offer body (USD, 30-day lock, `sale` and `lead` goals), named as the bench's. */
export const offerBody = (overrides: Record<string, unknown> = {}) => seedOfferBody(overrides, 'Bench offer');

export type Principal = PrincipalHandle;

export interface Network {
  advertiser: Principal;
  advertiserApi: Api;
  finance: Principal;
  financeApi: Api;
  /** USD, 30-day lock: conversions stay pending (commission posted, nothing payable). */
  offer: { id: string };
  affiliates: Principal[];
}

export function createPrincipal(stack: Stack, kind: PrincipalKind, name: string): Promise<Principal> {
  return seedPrincipal(stack.admin, kind, name, uniqueEmail(name, 'bench.example'));
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
export function createLink(stack: Stack, affiliate: Principal, offerId: string, extra: Record<string, unknown> = {}): Promise<LinkHandle> {
  return seedLink(stack.admin, affiliate, offerId, extra);
}

/** A genuine click id, from a real redirect's Location (`cid=`). */
export async function clickIdFrom(stack: Stack, code: string): Promise<string> {
  return clickIdOf(await new Api(stack.baseUrl).location(`/c/${code}`));
}
