import { formatMinorUnits } from '../common/money';
import { ApiClient } from './demo-client';

const say = (line: string) => process.stdout.write(`${line}\n`);
const usd = (minor: number) => `${formatMinorUnits(minor, 'USD')} USD`;

interface Conversion {
  id: string;
  status: string;
  hold: string | null;
  payout: number;
  attributedBy: string | null;
  payoutRule: { tier?: { number: number; volume: number } } | null;
}

interface Funding {
  balances: { currency: string; funded: number; reserved: number; spent: number; available: number }[];
  awaitingFunds: number;
}

/**
 * Commission programs, shown on a prepaid subscription advertiser: a tiered payout (more from the
 * fourth subscription of the month), a bonus at five, subscriptions renewed (recurring, credited
 * by customer id) and one refunded, and the advertiser's funds running out (offer paused, renewals
 * waiting) and topped up (covered, approved, offer resumed). `settle` waits for the workers.
 */
export async function runPrograms(api: ApiClient, admin: ApiClient, settle: () => Promise<void>): Promise<void> {
  say('\nCommission programs: tiers, a bonus, recurring commissions, a prepaid advertiser');
  const create = (path: string, name: string) =>
    admin.post<{ id: string; apiKey: string; postbackToken: string }>(path, { name, email: `${name.toLowerCase().replace(/\W+/g, '.')}@demo.afflux.test` });
  const peak = await create('/v1/advertisers', 'Peak Pro');
  const finance = await create('/v1/finance-users', 'Pat Prepaid');
  const partner = await create('/v1/affiliates', 'Subscription Partner');
  const advertiser = api.as(peak.apiKey);
  await admin.request('PATCH', `/v1/advertisers/${peak.id}`, { billingMode: 'prepaid', lowBalanceAlert: 2000 });
  const offer = await advertiser.post<{ id: string; status: string }>('/v1/offers', {
    name: 'Peak Pro – subscriptions',
    currency: 'USD',
    landingUrl: 'https://peak.example/pro?cid={click_id}',
    fallbackUrl: 'https://peak.example/paused',
    lockPeriodDays: 0,
    goals: [
      {
        key: 'sub',
        recurring: { months: 12 },
        revenue: { type: 'flat', amount: 2000 },
        payout: {
          type: 'tiered',
          basis: 'conversions',
          period: 'month',
          tiers: [
            { from: 0, rule: { type: 'flat', amount: 800 } },
            { from: 3, rule: { type: 'flat', amount: 1000 } },
          ],
        },
      },
    ],
  });
  await advertiser.post(`/v1/offers/${offer.id}/bonuses`, { name: 'Five subscriptions a month', goal: 'sub', metric: 'conversions', threshold: 5, period: 'month', amount: 2500 });
  await advertiser.post('/v1/coupons', { offerId: offer.id, affiliateId: partner.id, code: 'PEAKPARTNER' });
  await api.as(finance.apiKey).post(`/v1/advertisers/${peak.id}/fundings`, { amount: 10_000, currency: 'USD', reference: 'opening wire' });
  say(`  Peak Pro is prepaid: funded ${usd(10_000)}; a subscription costs it ${usd(2000)}; the partner earns 8.00, from the 4th of the month 10.00, and a 25.00 bonus at 5`);

  const postback = (params: Record<string, string>) => api.get<{ id: string }>(`/postback?${new URLSearchParams({ token: peak.postbackToken, goal: 'sub', ...params })}`);
  const view = (id: string) => admin.get<Conversion>(`/v1/conversions/${id}`);
  const funding = async () => (await admin.get<Funding>(`/v1/advertisers/${peak.id}/funding`)).balances.find((b) => b.currency === 'USD');
  const first: string[] = [];
  for (let i = 1; i <= 5; i++) {
    const { id } = await postback({ coupon: 'PEAKPARTNER', txn_id: `sub-${i}`, customer_id: `cus_${i}` });
    first.push(id);
    const c = await view(id);
    say(`  subscription ${i} (cus_${i}): ${c.status}, partner earns ${usd(c.payout)} at tier ${c.payoutRule?.tier?.number} (${c.payoutRule?.tier?.volume} before it this month)`);
  }
  await settle();
  const awards = await api.as(partner.apiKey).get<{ data: { amount: number; status: string; period: string }[] }>('/v1/bonuses');
  for (const a of awards.data) say(`  bonus: ${usd(a.amount)} ${a.status} for ${a.period}`);
  const dry = await funding();
  const paused = await advertiser.get<{ status: string; pausedReason: string | null }>(`/v1/offers/${offer.id}`);
  say(
    `  funds: spent ${usd(dry?.spent ?? 0)}, available ${usd(dry?.available ?? 0)}: the offer is ${paused.status} (${paused.pausedReason ?? '-'}), its clicks go to the fallback URL`,
  );

  const renewals: string[] = [];
  for (const [n, customer] of [
    [1, 'cus_1'],
    [2, 'cus_1'],
    [1, 'cus_2'],
  ] as const) {
    const { id } = await postback({ txn_id: `renewal-${customer}-${n}`, customer_id: customer });
    renewals.push(id);
    const c = await view(id);
    say(`  renewal ${n} of ${customer} (no click, no coupon): attributed by ${c.attributedBy}, ${c.status}${c.hold ? ` (${c.hold})` : ''}`);
  }
  await admin.post(`/v1/conversions/${renewals[2]}/reject`, { reason: 'refunded before renewal' });
  say(`  the renewal of cus_2 is refunded: rejected while waiting, nothing was reserved for it`);

  const topUp = await api
    .as(finance.apiKey)
    .post<{ balance: { available: number } }>(`/v1/advertisers/${peak.id}/fundings`, { amount: 5000, currency: 'USD', reference: 'top-up' });
  await settle();
  for (const id of renewals.slice(0, 2)) {
    const c = await view(id);
    say(`  after the top-up: renewal ${c.id.slice(0, 8)} ${c.status}, partner earns ${usd(c.payout)} (tier ${c.payoutRule?.tier?.number})`);
  }
  const resumed = await advertiser.get<{ status: string }>(`/v1/offers/${offer.id}`);
  const after = await funding();
  say(
    `  top-up of ${usd(5000)}: available ${usd(topUp.balance.available)} → funded ${usd(after?.funded ?? 0)}, spent ${usd(after?.spent ?? 0)}, available ${usd(after?.available ?? 0)}; the offer is ${resumed.status} again`,
  );
  const earnings = await api.as(partner.apiKey).get<{ balances: { currency: string; available: number }[]; bonuses: { earned: number }[] }>('/v1/earnings');
  say(`  the partner's available balance: ${usd(earnings.balances.find((b) => b.currency === 'USD')?.available ?? 0)}, of which bonuses ${usd(earnings.bonuses[0]?.earned ?? 0)}`);
}
