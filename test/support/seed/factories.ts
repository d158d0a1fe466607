/**
 * The one set of factories that seeds a network through the real HTTP API: principals, offers,
 * links, click ids and conversions (postbacks). The e2e and fault tests (`test/support/factories.ts`,
 * `tracking.factories.ts`, `network.ts`, `test/faults/support/network.ts`), the benchmark
 * (`bench/workloads/seed.ts`) and the demo (`src/demo/demo.ts`) all seed through it, each with its
 * own HTTP client behind `SeedClient`.
 *
 * It imports nothing: no jest, no supertest, nothing of the app. `tsconfig.dev.json` builds it
 * into dist-dev for the demo and the bench; the production build does not include it.
 */

/** What the factories need of an HTTP client. */
export interface SeedClient {
  /** POSTs `body` as JSON with this client's key; answers the parsed body of a success, throws (naming the status and body) otherwise. */
  post<T>(path: string, body: unknown): Promise<T>;
  /** The same client, acting with `key`. */
  as(key: string): SeedClient;
}

export interface PrincipalHandle {
  id: string;
  apiKey: string;
  /** Advertisers only: the secret of their postbacks. */
  postbackToken?: string;
}

export type PrincipalKind = 'advertisers' | 'affiliates' | 'finance-users';

export interface OfferHandle {
  id: string;
  currency: string;
  [key: string]: unknown;
}

export interface LinkHandle {
  id: string;
  code: string;
  url: string;
  offerId: string;
  affiliateId: string;
  [key: string]: unknown;
}

let seq = 0;

/** `label` made unique in this process and across runs: `label-<time>-<n>`. */
export const uniqueName = (label: string) => `${label}-${Date.now().toString(36)}-${++seq}`;

/** A unique e-mail address for a principal called `name`. */
export const uniqueEmail = (name: string, domain = 'example.test') => `${uniqueName(name.toLowerCase().replace(/[^a-z0-9]+/g, '-'))}@${domain}`;

export const LANDING_URL = 'https://shop.example/landing?cid={click_id}&aff={affiliate_id}&s1={sub1}';

/**
 * A public USD offer with a 30-day lock and two goals, `sale` (percent: 15 % revenue, 10 % payout)
 * and `lead` (flat: 5.00 revenue, 3.00 payout); `overrides` replace whole fields. Its name is
 * unique, from `label`.
 */
export function offerBody(overrides: Record<string, unknown> = {}, label = 'Offer'): Record<string, unknown> {
  return {
    name: uniqueName(label),
    landingUrl: LANDING_URL,
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

/** A principal of `kind`, created by the admin (`admin` carries the admin key). */
export function createPrincipal(admin: SeedClient, kind: PrincipalKind, name: string, email = uniqueEmail(name)): Promise<PrincipalHandle> {
  return admin.post<PrincipalHandle>(`/v1/${kind}`, { name, email });
}

/** An offer of `advertiser`: `offerBody(overrides)`, or exactly `body` when the caller writes the whole offer. */
export function createOffer(api: SeedClient, advertiser: PrincipalHandle, overrides: Record<string, unknown> = {}): Promise<OfferHandle> {
  return api.as(advertiser.apiKey).post<OfferHandle>('/v1/offers', offerBody(overrides));
}

/** A tracking link of `affiliate` on `offerId`; `extra` adds label, channel, sub ids. */
export function createLink(api: SeedClient, affiliate: PrincipalHandle, offerId: string, extra: Record<string, unknown> = {}): Promise<LinkHandle> {
  return api.as(affiliate.apiKey).post<LinkHandle>('/v1/links', { offerId, ...extra });
}

/** The click id a redirect put into the landing URL (`cid=`, or `clickid=` for templates that name it so). */
export function clickIdOf(location: string): string {
  const url = new URL(location);
  const clickId = url.searchParams.get('cid') ?? url.searchParams.get('clickid');
  if (!clickId) throw new Error(`no click id in ${location}`);
  return clickId;
}

/** The fields of a conversion postback (`GET /postback`), as the advertiser's tracker sends them. */
export interface PostbackFields {
  token: string;
  goal: string;
  txnId: string;
  clickId?: string;
  amount?: string;
  currency?: string;
  status?: string;
}

/** `/postback?…` for a conversion (or, with `status`, a change of one); `params` add or replace raw query fields; absent fields are left out. */
export function postbackPath(fields: PostbackFields, params: Record<string, string | undefined> = {}): string {
  const { token, clickId, goal, txnId, amount, currency, status } = fields;
  const query = Object.entries({ token, click_id: clickId, goal, txn_id: txnId, amount, currency, status, ...params });
  return `/postback?${new URLSearchParams(query.filter((entry): entry is [string, string] => entry[1] !== undefined))}`;
}
