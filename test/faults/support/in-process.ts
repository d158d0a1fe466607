import { StripeEmulator } from '../../support/stripe-emulator/emulator';
import { createTestApp, TestApp } from '../../support/create-test-app';
import { drainQueues } from '../../support/drain';
import { auth, createAdvertiser, createAffiliate, createFinanceUser, createOffer, OfferHandle, PrincipalHandle } from '../../support/factories';
import { convert } from '../../support/network';
import { STRIPE_KEY, WEBHOOK_SECRET } from './emulator';

/**
 * The whole AppModule in the test process with its workers, listening on loopback, wired to an
 * in-process Stripe emulator whose webhooks reach it: for the fault tests that need to reach
 * inside (services, the emulator's store) rather than restart processes.
 */
export async function stripeNetwork(env: Record<string, string> = {}) {
  const stripe = new StripeEmulator({ webhookSecret: WEBHOOK_SECRET });
  const { url } = await stripe.start();
  const t = await createTestApp({
    workers: true,
    listen: true,
    env: { STRIPE_SECRET_KEY: STRIPE_KEY, STRIPE_API_URL: url, STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET, STRIPE_TIMEOUT_MS: '1000', STRIPE_MAX_NETWORK_RETRIES: '2', ...env },
  });
  stripe.setWebhookUrl(`${t.baseUrl}/webhooks/stripe`);
  const [advertiser, finance] = await Promise.all([createAdvertiser(t), createFinanceUser(t)]);
  // Approved at once, 300 minor units per lead: four leads cross the default threshold of 1000.
  const offer = await createOffer(t, advertiser, { lockPeriodDays: 0 });

  const settle = async () => {
    await stripe.flushWebhooks();
    await drainQueues(t, { timeoutMs: 60_000 });
  };
  return {
    t,
    stripe,
    advertiser,
    finance,
    offer,
    settle,
    /** An affiliate onboarded through the real endpoint and the account.updated webhook. */
    async payableAffiliate(): Promise<PrincipalHandle & { accountId: string }> {
      const affiliate = await createAffiliate(t);
      const res = await t.http.post('/v1/payout-accounts').set(auth(affiliate.apiKey)).send({});
      if (res.status !== 201) throw new Error(`onboard: ${res.status} ${JSON.stringify(res.body)}`);
      stripe.completeOnboarding(res.body.accountId);
      return { ...affiliate, accountId: res.body.accountId };
    },
    async earn(affiliate: PrincipalHandle, times: number, on: OfferHandle = offer): Promise<string[]> {
      const ids: string[] = [];
      for (let i = 0; i < times; i++) ids.push((await convert(t, advertiser, affiliate, on)).id);
      return ids;
    },
    async requestRun(currency = 'USD'): Promise<string> {
      const res = await t.http.post('/v1/payout-runs').set(auth(finance.apiKey)).send({ currency });
      if (res.status !== 202) throw new Error(`payout run: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body.id;
    },
    transfersTo: (accountId: string) => stripe.transfers().filter((tr) => tr.destination === accountId),
    async close() {
      await t.close();
      await stripe.stop();
    },
  };
}
export type StripeNetwork = Awaited<ReturnType<typeof stripeNetwork>>;
export type { TestApp };
