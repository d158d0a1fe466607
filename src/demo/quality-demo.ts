import type { ApiClient } from './demo-client';

type Principal = { id: string; apiKey: string; postbackToken?: string };
type Conversion = { id: string; status: string; hold: string | null; reason: string | null; risk: { score: number; reasons: { code: string; detail: string }[] } | null };

/**
 * Traffic quality in the demo (README, "Traffic quality"): a click flood from a data-centre range
 * held for review, a leaked coupon flagged by the quality job, and an appeal the advertiser upholds.
 */
export async function qualityDemo(api: ApiClient, admin: ApiClient, say: (line: string) => void): Promise<void> {
  const create = (path: string, name: string) => admin.post<Principal>(path, { name, email: `${name.toLowerCase().replace(/\W+/g, '.')}@demo.afflux.test` });
  const peak = await create('/v1/advertisers', 'Peak Gear');
  const [fred, cathy] = [await create('/v1/affiliates', 'Flooder Fred'), await create('/v1/affiliates', 'Coupon Cathy')];
  const offer = await api.as(peak.apiKey).post<{ id: string }>('/v1/offers', {
    name: 'Peak Gear – boots',
    currency: 'USD',
    landingUrl: 'https://peak.example/boots?cid={click_id}',
    lockPeriodDays: 14,
    goals: [{ key: 'lead', revenue: { type: 'flat', amount: 800 }, payout: { type: 'flat', amount: 500 } }],
  });
  const link = await api.as(fred.apiKey).post<{ code: string }>('/v1/links', { offerId: offer.id });

  // A flood: 30 clicks from one DigitalOcean address with a scripted user agent.
  let clickId = '';
  for (let i = 0; i < 30; i++) {
    const res = await fetch(`${api.baseUrl}/c/${link.code}?sub1=flood`, {
      redirect: 'manual',
      headers: { 'x-forwarded-for': '5.101.96.77', 'user-agent': 'python-requests/2.31' },
    });
    clickId = new URL(res.headers.get('location') as string).searchParams.get('cid') as string;
  }
  await new Promise((resolve) => setTimeout(resolve, 1500)); // the click batch is written
  const flooded = await api.as(peak.apiKey).post<Conversion>('/v1/conversions', { goal: 'lead', txnId: 'QUALITY-FLOOD-1', clickId });
  say(`Flood from a data-centre range: conversion ${flooded.status}, hold ${flooded.hold}, risk ${flooded.risk?.score} (${flooded.risk?.reasons.map((r) => r.code).join(', ')})`);

  // A leaked coupon: used six times with no click behind it.
  const coupon = await api.as(peak.apiKey).post<{ code: string }>('/v1/coupons', { offerId: offer.id, affiliateId: cathy.id, code: 'PEAK-CATHY-15' });
  const uses: Conversion[] = [];
  for (let i = 0; i < 6; i++) uses.push(await api.as(peak.apiKey).post<Conversion>('/v1/conversions', { goal: 'lead', txnId: `QUALITY-COUPON-${i}`, coupon: coupon.code }));
  const leaked = await waitForCheck(api.as(peak.apiKey), uses[5].id);
  say(`Leaked coupon: ${leaked.risk?.reasons.find((r) => r.code === 'coupon_leak')?.detail ?? 'not flagged yet'}`);

  // The flooder appeals; the advertiser looks and upholds it: the commission is posted.
  const appeal = await api
    .as(fred.apiKey)
    .post<{ id: string; status: string }>(`/v1/conversions/${flooded.id}/appeals`, { message: 'Our QA team replayed traffic from a server; this sale is a real customer.' });
  await api.as(peak.apiKey).post(`/v1/conversions/${flooded.id}/appeals/${appeal.id}/resolve`, { decision: 'approve', message: 'Order found in our shop; approved.' });
  const after = await api.as(fred.apiKey).get<Conversion & { events: { reason: string | null }[] }>(`/v1/conversions/${flooded.id}`);
  say(`Appeal ${appeal.status} → approved: conversion ${after.status}; history: ${after.events.map((e) => e.reason ?? 'recorded').join(' | ')}`);
}

/** The conversion once the quality job has completed its score (every 5 s). */
async function waitForCheck(api: ApiClient, id: string): Promise<Conversion> {
  for (let i = 0; i < 40; i++) {
    const conversion = await api.get<Conversion>(`/v1/conversions/${id}`);
    if (conversion.risk?.reasons.some((r) => r.code === 'coupon_leak')) return conversion;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  return api.get<Conversion>(`/v1/conversions/${id}`);
}
