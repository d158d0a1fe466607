import { ClickIdService } from '../../src/modules/tracking/click-id.service';
import type { TestApp } from './create-test-app';
import { auth, OfferHandle, PrincipalHandle } from './factories';

let seq = 0;

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
  const link = await t.http.post('/v1/links').set(auth(affiliate.apiKey)).send({ offerId: offer.id });
  if (link.status !== 201) throw new Error(`link: ${link.status} ${JSON.stringify(link.body)}`);
  const clickId = t.app.get(ClickIdService).issue(link.body.id, new Date(Date.now() - 60_000));
  const res = await t.http.get('/postback').query({ token: advertiser.postbackToken, click_id: clickId, goal: 'lead', txn_id: `N-${Date.now().toString(36)}-${++seq}`, ...params });
  if (res.status !== 201) throw new Error(`postback: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}
