import type { TestApp } from './create-test-app';
import { createOffer as seedOffer, createPrincipal, OfferHandle, offerBody, PrincipalHandle, SeedClient } from './seed/factories';

export { offerBody };
export type { OfferHandle, PrincipalHandle };

export const auth = (key: string) => ({ Authorization: `Bearer ${key}` });

/** The test app's HTTP agent as the seeding factories' client: a POST must answer 201 Created. */
export function seedClient(t: TestApp, key = t.adminKey): SeedClient {
  return {
    async post<T>(path: string, body: unknown): Promise<T> {
      const res = await t.http
        .post(path)
        .set(auth(key))
        .send(body as object);
      if (res.status !== 201) throw new Error(`POST ${path}: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body as T;
    },
    as: (other) => seedClient(t, other),
  };
}

export const createAdvertiser = (t: TestApp, name = 'advertiser') => createPrincipal(seedClient(t), 'advertisers', name);
export const createAffiliate = (t: TestApp, name = 'affiliate') => createPrincipal(seedClient(t), 'affiliates', name);
export const createFinanceUser = (t: TestApp, name = 'finance') => createPrincipal(seedClient(t), 'finance-users', name);

export function createOffer(t: TestApp, advertiser: PrincipalHandle, overrides: Record<string, unknown> = {}): Promise<OfferHandle> {
  return seedOffer(seedClient(t), advertiser, overrides);
}
