import { ClickIdService } from '../../src/modules/tracking/click-id.service';
import type { TestApp } from './create-test-app';
import { OfferHandle, PrincipalHandle } from './factories';
import { postbackPath, uniqueName } from './seed/factories';
import { createLink } from './tracking.factories';

/**
 * Records a conversion for `affiliate` on `offer` through the real postback: a link, a signed
 * click id (issued by the app's own ClickIdService, no redirect needed), then the postback.
 */
export async function convert(
  t: TestApp,
  advertiser: PrincipalHandle,
  affiliate: PrincipalHandle,
  offer: OfferHandle,
  params: Record<string, string> = {},
): Promise<{ id: string; status: string }> {
  const link = await createLink(t, affiliate, offer.id);
  const clickId = t.app.get(ClickIdService).issue(link.id, new Date(Date.now() - 60_000));
  const res = await t.http.get(postbackPath({ token: advertiser.postbackToken as string, clickId, goal: 'lead', txnId: uniqueName('N') }, params));
  if (res.status !== 201) throw new Error(`postback: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}
