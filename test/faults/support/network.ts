import { ClickIdCodec } from '../../../src/modules/tracking/click-id';
import { createLink, createOffer, createPrincipal, PrincipalHandle, PrincipalKind, SeedClient } from '../../support/seed/factories';
import type { Client } from './client';
import type { Deployment } from './deployment';

export type Party = PrincipalHandle;

/** A deployment's API (a client per key) as the seeding factories' client: a POST must answer 201 Created. */
function seedClient(api: (key?: string) => Client, key?: string): SeedClient {
  return {
    post: async (path, body) => {
      const res = await api(key)('POST', path, { body });
      if (res.status !== 201) throw new Error(`POST ${path}: ${res.status} ${res.text}`);
      return res.body;
    },
    as: (other) => seedClient(api, other),
  };
}

/** A principal created by the admin through the API; its key and token join the deployment's secrets. */
export async function principal(d: Deployment, admin: Client, kind: PrincipalKind): Promise<Party> {
  const created = await createPrincipal(
    seedClient(() => admin),
    kind,
    kind,
  );
  d.remember(created.apiKey, created.postbackToken);
  return created;
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
  const created = await createOffer(seedClient(api), advertiser, offer);
  const link = await createLink(seedClient(api), affiliate, created.id);
  return { advertiser, affiliate, offer: created, link };
}

/** A click id the deployment's API will accept, signed with its CLICK_SECRET (no redirect needed). */
export function clickIdFor(d: Deployment, linkId: string, at = new Date(Date.now() - 60_000)): string {
  return new ClickIdCodec(d.clickSecret).issue(linkId, at);
}
