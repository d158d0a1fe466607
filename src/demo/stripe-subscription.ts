import Stripe from 'stripe';
import { StripeEmulator } from '../../test/support/stripe-emulator/emulator';
import { formatMinorUnits } from '../common/money';
import { ApiClient } from './demo-client';

const say = (line: string) => process.stdout.write(`${line}\n`);

interface Conversion {
  id: string;
  txnId: string;
  status: string;
  affiliateId: string | null;
  saleAmount: number | null;
  payout: number;
  reason: string | null;
}

/**
 * Stripe-native conversions in the demo: an advertiser connects its own Stripe account (a second
 * emulator, its events signed with the advertiser's secret); a customer who came through an
 * affiliate's link subscribes through Checkout, the subscription renews twice, and the first
 * payment is half refunded. Prints what each event became.
 */
export async function showStripeSubscription(api: ApiClient, admin: ApiClient, affiliate: { id: string; apiKey: string }, settle: () => Promise<void>): Promise<void> {
  say('\nStripe-native conversions: a subscription renewed twice and refunded once');
  const secret = 'whsec_demo_cloudnotes_0123456789';
  const merchant = new StripeEmulator({ webhookSecret: secret, enabledEvents: ['checkout.session.completed', 'invoice.paid', 'charge.refunded'] });
  const { port } = await merchant.start();
  try {
    const advertiser = await admin.post<{ id: string; apiKey: string }>('/v1/advertisers', { name: 'Cloud Notes', email: 'billing@cloudnotes.demo.afflux.test' });
    const asAdvertiser = api.as(advertiser.apiKey);
    const offer = await asAdvertiser.post<{ id: string }>('/v1/offers', {
      name: 'Cloud Notes Pro – monthly',
      currency: 'USD',
      landingUrl: 'https://cloudnotes.example/pro?ref={click_id}',
      lockPeriodDays: 0,
      goals: [{ key: 'subscription', revenue: { type: 'percent', bps: 3000 }, payout: { type: 'percent', bps: 2000 } }],
    });
    const connection = await asAdvertiser.request<{ endpointUrl: string }>('PUT', '/v1/integrations/stripe', { offerId: offer.id, goal: 'subscription', webhookSecret: secret });
    say(`  endpoint to paste in Stripe: ${connection.endpointUrl}`);
    merchant.setWebhookUrl(`${api.baseUrl}/webhooks/advertisers/${advertiser.id}/stripe`);

    const link = await api.as(affiliate.apiKey).post<{ code: string }>('/v1/links', { offerId: offer.id, label: 'stripe demo' });
    const landing = new URL((await api.get<{ location: string }>(`/c/${link.code}`)).location);
    const stripe = new Stripe('sk_test_cloudnotes', { host: '127.0.0.1', port, protocol: 'http' });
    const session = await stripe.checkout.sessions.create({
      mode: 'subscription',
      client_reference_id: landing.searchParams.get('ref') ?? undefined,
      success_url: 'https://cloudnotes.example/welcome',
      line_items: [{ price_data: { currency: 'usd', unit_amount: 2900, recurring: { interval: 'month' }, product_data: { name: 'Pro' } }, quantity: 1 }],
    });
    const paid = merchant.completeCheckoutSession(session.id);
    merchant.renewSubscription(paid.subscription as string);
    merchant.renewSubscription(paid.subscription as string);
    await merchant.flushWebhooks();
    await stripe.refunds.create({ payment_intent: merchant.sales.charges.all()[0].payment_intent, amount: 1450 });
    await merchant.flushWebhooks();
    await settle();

    const { data } = await asAdvertiser.get<{ data: Conversion[] }>(`/v1/conversions?limit=10`);
    const payouts = await admin.get<{ data: Conversion[] }>(`/v1/conversions?advertiserId=${advertiser.id}&limit=10`);
    const payoutOf = new Map(payouts.data.map((c) => [c.id, c.payout]));
    for (const c of data.reverse()) {
      const who = c.affiliateId ? `affiliate ${c.affiliateId.slice(0, 8)}, commission ${formatMinorUnits(payoutOf.get(c.id) ?? 0, 'USD')}` : `(${c.reason})`;
      say(`  ${c.txnId.slice(0, 24).padEnd(26)}${formatMinorUnits(c.saleAmount ?? 0, 'USD').padStart(8)} USD  ${c.status.padEnd(13)}${who}`);
    }
    const adjustments = await admin.get<{ data: { amount: number; reason: string }[] }>(`/v1/adjustments?affiliateId=${affiliate.id}`);
    for (const a of adjustments.data) say(`  adjustment ${formatMinorUnits(a.amount, 'USD')} USD: ${a.reason}`);
    say('  (renewals carry the Stripe customer; without recurring commissions on the goal they stay unattributed)');
  } finally {
    await merchant.stop();
  }
}
