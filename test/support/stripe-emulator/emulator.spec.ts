/**
 * Drives the emulator only through the real `stripe` SDK (plus the emulator's
 * control methods), so what passes here is what the app will see.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import Stripe from 'stripe';
import { StripeEmulator } from './emulator';

const SECRET = 'whsec_spec_secret';
const API_KEY = 'sk_test_emulator_spec';

/** A tiny webhook endpoint that verifies signatures exactly like the app must. */
class WebhookReceiver {
  readonly events: Stripe.Event[] = [];
  readonly rejected: string[] = [];
  private readonly server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      try {
        const event = Stripe.webhooks.constructEvent(raw, String(req.headers['stripe-signature']), SECRET);
        this.events.push(event);
        res.writeHead(200).end();
      } catch (error) {
        this.rejected.push((error as Error).message);
        res.writeHead(400).end();
      }
    });
  });

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/webhooks/stripe`;
  }

  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  ofType(type: string): Stripe.Event[] {
    return this.events.filter((e) => e.type === type);
  }

  reset(): void {
    this.events.length = 0;
    this.rejected.length = 0;
  }
}

const receiver = new WebhookReceiver();
let webhookUrl: string;
let emulator: StripeEmulator;
let port: number;

beforeAll(async () => {
  webhookUrl = await receiver.start();
});
afterAll(() => receiver.stop());

beforeEach(async () => {
  receiver.reset();
  emulator = new StripeEmulator({ webhookUrl, webhookSecret: SECRET });
  ({ port } = await emulator.start());
});
afterEach(() => emulator.stop());

function client(config: Stripe.StripeConfig = {}, key = API_KEY): Stripe {
  return new Stripe(key, { host: '127.0.0.1', port, protocol: 'http', maxNetworkRetries: 0, ...config });
}

async function onboardedAccount(stripe: Stripe): Promise<Stripe.Account> {
  const account = await stripe.accounts.create({
    type: 'express',
    email: 'affiliate@example.com',
    country: 'US',
    capabilities: { transfers: { requested: true } },
  });
  return emulator.completeOnboarding(account.id);
}

function transferParams(destination: string, overrides: Partial<Stripe.TransferCreateParams> = {}) {
  return { amount: 1234, currency: 'usd', destination, transfer_group: 'payout_1', ...overrides };
}

/** Awaits a promise expected to reject and returns the error. */
async function failure(promise: Promise<unknown>): Promise<Stripe.errors.StripeError> {
  try {
    await promise;
  } catch (error) {
    return error as Stripe.errors.StripeError;
  }
  throw new Error('expected the call to fail');
}

describe('Connect accounts', () => {
  it('creates an express account, an onboarding link, and announces onboarding with a signed webhook', async () => {
    const stripe = client();
    const account = await stripe.accounts.create({
      type: 'express',
      email: 'aff@example.com',
      country: 'FR',
      capabilities: { transfers: { requested: true } },
      metadata: { affiliate_id: '42' },
    });
    expect(account).toMatchObject({
      object: 'account',
      type: 'express',
      email: 'aff@example.com',
      country: 'FR',
      default_currency: 'eur',
      payouts_enabled: false,
      charges_enabled: false,
      details_submitted: false,
      capabilities: { transfers: 'inactive' },
      metadata: { affiliate_id: '42' },
    });
    expect(account.id).toMatch(/^acct_/);

    const link = await stripe.accountLinks.create({
      account: account.id,
      type: 'account_onboarding',
      refresh_url: 'https://app.example/refresh',
      return_url: 'https://app.example/return',
    });
    expect(link.object).toBe('account_link');
    expect(link.expires_at).toBeGreaterThan(link.created);

    // Visiting the link (what the affiliate's browser does) completes onboarding and redirects.
    const visit = await fetch(link.url, { redirect: 'manual' });
    expect(visit.status).toBe(302);
    expect(visit.headers.get('location')).toBe('https://app.example/return');

    await emulator.flushWebhooks();
    const [updated] = receiver.ofType('account.updated');
    expect(receiver.rejected).toEqual([]);
    expect(updated).toMatchObject({
      object: 'event',
      account: account.id,
      livemode: false,
      api_version: Stripe.API_VERSION,
      data: { object: { id: account.id, payouts_enabled: true, details_submitted: true } },
    });
    expect((updated.data.previous_attributes as Record<string, unknown>).payouts_enabled).toBe(false);
    expect((await stripe.accounts.retrieve(account.id)).capabilities?.transfers).toBe('active');
  });

  it('updates account metadata', async () => {
    const stripe = client();
    const account = await stripe.accounts.create({ type: 'express', metadata: { a: '1', b: '2' } });
    const updated = await stripe.accounts.update(account.id, { metadata: { a: '', c: '3' } });
    expect(updated.metadata).toEqual({ b: '2', c: '3' });
  });
});

describe('transfers and idempotency', () => {
  it('replays the first answer for a repeated idempotency key: one transfer, same id', async () => {
    const stripe = client();
    const account = await onboardedAccount(stripe);
    const params = transferParams(account.id, { metadata: { payout_id: 'p1', batch: 'b1' } });
    const first = await stripe.transfers.create(params, { idempotencyKey: 'payout-p1' });
    // Same parameters in another order are the same request.
    const again = await stripe.transfers.create({ ...params, metadata: { batch: 'b1', payout_id: 'p1' } }, { idempotencyKey: 'payout-p1' });

    expect(again.id).toBe(first.id);
    expect(first).toMatchObject({
      object: 'transfer',
      amount: 1234,
      currency: 'usd',
      destination: account.id,
      transfer_group: 'payout_1',
      reversed: false,
      amount_reversed: 0,
      livemode: false,
      metadata: { payout_id: 'p1', batch: 'b1' },
    });
    expect(first.id).toMatch(/^tr_/);
    expect(first.balance_transaction).toMatch(/^txn_/);
    expect(again.lastResponse.headers['idempotent-replayed']).toBe('true');
    expect(again.lastResponse.requestId).toMatch(/^req_/);
    expect(emulator.transfers()).toHaveLength(1);
    expect(
      emulator
        .requestLog()
        .filter((r) => r.path === '/v1/transfers')
        .map((r) => r.replayed),
    ).toEqual([false, true]);
  });

  it('rejects the same key with different parameters (StripeIdempotencyError)', async () => {
    const stripe = client();
    const account = await onboardedAccount(stripe);
    await stripe.transfers.create(transferParams(account.id), { idempotencyKey: 'k1' });
    const error = await failure(stripe.transfers.create(transferParams(account.id, { amount: 999 }), { idempotencyKey: 'k1' }));
    expect(error).toBeInstanceOf(Stripe.errors.StripeIdempotencyError);
    expect(error.statusCode).toBe(400);
    expect(error.message).toMatch(/can only be used with the same parameters/);
    expect(emulator.transfers()).toHaveLength(1);
  });

  it('scopes idempotency keys per API key', async () => {
    const account = await onboardedAccount(client());
    const a = await client().transfers.create(transferParams(account.id), { idempotencyKey: 'shared' });
    const b = await client({}, 'sk_test_other_key').transfers.create(transferParams(account.id), { idempotencyKey: 'shared' });
    expect(b.id).not.toBe(a.id);
  });

  it('retries injected 500s with the same key and creates the transfer once', async () => {
    const stripe = client({ maxNetworkRetries: 2 });
    const account = await onboardedAccount(stripe);
    emulator.injectFault({ method: 'POST', path: '/v1/transfers', kind: 'error500', times: 2 });

    const transfer = await stripe.transfers.create(transferParams(account.id), { idempotencyKey: 'payout-500' });

    expect(emulator.transfers().map((t) => t.id)).toEqual([transfer.id]);
    const attempts = emulator.requestLog().filter((r) => r.path === '/v1/transfers');
    expect(attempts.map((r) => [r.status, r.idempotencyKey])).toEqual([
      [500, 'payout-500'],
      [500, 'payout-500'],
      [200, 'payout-500'],
    ]);
    expect(emulator.faults()).toEqual([]);
  });

  it('after reset_after_commit the SDK retry gets the stored result, even with maxNetworkRetries 0', async () => {
    // stripe-node retries a closed connection (ECONNRESET) once regardless of maxNetworkRetries.
    const stripe = client({ maxNetworkRetries: 0 });
    const account = await onboardedAccount(stripe);
    emulator.injectFault({ path: '/v1/transfers', kind: 'reset_after_commit', times: 1 });

    const transfer = await stripe.transfers.create(transferParams(account.id));

    expect(emulator.transfers().map((t) => t.id)).toEqual([transfer.id]);
    const attempts = emulator.requestLog().filter((r) => r.path === '/v1/transfers');
    expect(attempts.map((r) => [r.status, r.replayed, r.faults])).toEqual([
      [null, false, ['reset_after_commit']],
      [200, true, []],
    ]);
    // The SDK generated the key itself (stripe-node-retry-…) and reused it for the retry.
    expect(attempts[0].idempotencyKey).toMatch(/^stripe-node-retry-/);
    expect(attempts[1].idempotencyKey).toBe(attempts[0].idempotencyKey);
  });

  it('a second reset is a StripeConnectionError although the transfer exists', async () => {
    const stripe = client({ maxNetworkRetries: 0 });
    const account = await onboardedAccount(stripe);
    emulator.injectFault({ path: '/v1/transfers', kind: 'reset_after_commit', times: 2 });
    const error = await failure(stripe.transfers.create(transferParams(account.id), { idempotencyKey: 'reset-2' }));
    expect(error).toBeInstanceOf(Stripe.errors.StripeConnectionError);
    expect(emulator.transfers()).toHaveLength(1);
  });

  it('rate_limit: StripeRateLimitError, and the SDK does not retry a plain 429', async () => {
    const account = await onboardedAccount(client());
    emulator.injectFault({ path: '/v1/transfers', kind: 'rate_limit' });

    const error = await failure(client({ maxNetworkRetries: 0 }).transfers.create(transferParams(account.id)));
    expect(error).toBeInstanceOf(Stripe.errors.StripeRateLimitError);
    expect(error.code).toBe('rate_limit');
    expect(error.statusCode).toBe(429);

    const withRetries = await failure(client({ maxNetworkRetries: 2 }).transfers.create(transferParams(account.id)));
    expect(withRetries).toBeInstanceOf(Stripe.errors.StripeRateLimitError);
    expect(emulator.requestLog().filter((r) => r.path === '/v1/transfers')).toHaveLength(2);
    expect(emulator.transfers()).toHaveLength(0);
  });

  it('rate limiter (opt-in): over the writes per second a plain 429 rate_limit, nothing done; reads counted apart; off by default', async () => {
    const stripe = client({ maxNetworkRetries: 2 });
    const account = await onboardedAccount(stripe);
    const burst = Array.from({ length: 10 }, (_, i) => transferParams(account.id, { transfer_group: `payout_rl_${i}` }));
    // Off by default: ten at once all pass.
    expect((await Promise.allSettled(burst.map((p) => stripe.transfers.create(p)))).every((r) => r.status === 'fulfilled')).toBe(true);

    emulator.setRateLimit(4);
    const limited = await Promise.allSettled(burst.map((p, i) => stripe.transfers.create({ ...p, transfer_group: `payout_rl2_${i}` })));
    const refused = limited.flatMap((r) => (r.status === 'rejected' ? [r.reason as Stripe.errors.StripeError] : []));
    expect(limited.length - refused.length).toBe(4);
    expect(refused.every((e) => e instanceof Stripe.errors.StripeRateLimitError && e.code === 'rate_limit' && e.headers?.['retry-after'] === undefined)).toBe(true);
    expect(emulator.transfers()).toHaveLength(14);
    // Reads have their own bucket, and a write waits out the refill.
    expect((await stripe.transfers.list({ limit: 1 })).data).toHaveLength(1);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await stripe.transfers.create(transferParams(account.id, { transfer_group: 'payout_rl_after' }));
    emulator.setRateLimit(null);
  });

  it('counts the API requests in progress at once (a held request is in progress)', async () => {
    const stripe = client();
    const account = await onboardedAccount(stripe);
    emulator.resetInFlightPeak();
    emulator.injectFault({ path: '/v1/transfers', kind: 'delay', delayMs: 100, times: 5 });
    await Promise.all(Array.from({ length: 5 }, (_, i) => stripe.transfers.create(transferParams(account.id, { transfer_group: `payout_peak_${i}` }))));
    expect(emulator.inFlightPeak()).toBe(5);
    emulator.resetInFlightPeak();
    await stripe.transfers.create(transferParams(account.id, { transfer_group: 'payout_peak_alone' }));
    expect(emulator.inFlightPeak()).toBe(1);
  });

  it('lock_timeout (429 + Stripe-Should-Retry: true) is retried by the SDK', async () => {
    const stripe = client({ maxNetworkRetries: 1 });
    const account = await onboardedAccount(stripe);
    emulator.injectFault({ path: '/v1/transfers', kind: 'lock_timeout', times: 1 });
    await stripe.transfers.create(transferParams(account.id));
    expect(
      emulator
        .requestLog()
        .filter((r) => r.path === '/v1/transfers')
        .map((r) => r.status),
    ).toEqual([429, 200]);
    expect(emulator.transfers()).toHaveLength(1);
  });

  it('timeout: the SDK gives up, nothing happened, and a retry with the same key creates the transfer once', async () => {
    const stripe = client({ maxNetworkRetries: 0, timeout: 500 });
    const account = await onboardedAccount(stripe);
    emulator.injectFault({ path: '/v1/transfers', kind: 'timeout' });

    const error = await failure(stripe.transfers.create(transferParams(account.id), { idempotencyKey: 'payout-t' }));
    expect(error).toBeInstanceOf(Stripe.errors.StripeConnectionError);
    expect(error.message).toMatch(/timeout/);
    expect(emulator.transfers()).toHaveLength(0);

    emulator.clearFaults();
    const transfer = await stripe.transfers.create(transferParams(account.id), { idempotencyKey: 'payout-t' });
    expect(transfer.lastResponse.headers['idempotent-replayed']).toBeUndefined();
    expect(emulator.transfers().map((t) => t.id)).toEqual([transfer.id]);
    expect(
      emulator
        .requestLog()
        .filter((r) => r.path === '/v1/transfers')
        .map((r) => r.status),
    ).toEqual([null, 200]);
  });

  it('a request still running under the same key gets 409 idempotency_error', async () => {
    const stripe = client();
    const account = await onboardedAccount(stripe);
    emulator.injectFault({ path: '/v1/transfers', kind: 'delay', delayMs: 300, times: 1 });

    const slow = stripe.transfers.create(transferParams(account.id), { idempotencyKey: 'busy' });
    await new Promise<void>((resolve) => {
      const poll = () => (emulator.requestLog().some((r) => r.path === '/v1/transfers') ? resolve() : setImmediate(poll));
      poll();
    });
    const conflict = await failure(stripe.transfers.create(transferParams(account.id), { idempotencyKey: 'busy' }));
    expect(conflict.statusCode).toBe(409);
    expect(conflict.rawType).toBe('idempotency_error');
    expect(conflict.code).toBe('idempotency_key_in_use');

    const created = await slow;
    const replay = await stripe.transfers.create(transferParams(account.id), { idempotencyKey: 'busy' });
    expect(replay.id).toBe(created.id);
    expect(emulator.transfers()).toHaveLength(1);
  });

  it('insufficient funds: balance_insufficient, stored under the key like Stripe does', async () => {
    const stripe = client();
    const account = await onboardedAccount(stripe);

    emulator.injectFault({ path: '/v1/transfers', kind: 'insufficient_funds', times: 1 });
    const injected = await failure(stripe.transfers.create(transferParams(account.id)));
    expect(injected).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(injected.code).toBe('balance_insufficient');
    expect(injected.rawType).toBe('invalid_request_error');

    emulator.setBalance('usd', 1000);
    const params = transferParams(account.id, { amount: 1001 });
    const real = await failure(stripe.transfers.create(params, { idempotencyKey: 'big' }));
    expect(real.code).toBe('balance_insufficient');
    expect((await stripe.balance.retrieve()).available.find((b) => b.currency === 'usd')?.amount).toBe(1000);

    // Topping up does not help a retry with the same key: the error is replayed.
    emulator.setBalance('usd', 10_000);
    const replayed = await failure(stripe.transfers.create(params, { idempotencyKey: 'big' }));
    expect(replayed.code).toBe('balance_insufficient');
    expect(replayed.headers?.['idempotent-replayed']).toBe('true');

    await stripe.transfers.create(params, { idempotencyKey: 'big-2' });
    expect(emulator.balance().usd).toBe(10_000 - 1001);
  });

  it('refuses destinations that are unknown or not onboarded', async () => {
    const stripe = client();
    const missing = await failure(stripe.transfers.create(transferParams('acct_nope')));
    expect(missing).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(missing).toMatchObject({ statusCode: 400, code: 'resource_missing', param: 'destination' });

    const pending = await stripe.accounts.create({ type: 'express' });
    const notReady = await failure(stripe.transfers.create(transferParams(pending.id)));
    expect(notReady).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(notReady.param).toBe('destination');
    expect(emulator.transfers()).toHaveLength(0);
  });

  it("takes amounts in Stripe's representation: whole units of ISK/UGX, whole-unit HUF/TWD transfers, three-decimal amounts ending in 0", async () => {
    const stripe = client();
    const account = await onboardedAccount(stripe);
    for (const currency of ['isk', 'huf', 'kwd']) emulator.setBalance(currency, 10 ** 9);
    for (const [currency, amount] of [
      ['isk', 50_050],
      ['huf', 12_345],
      ['kwd', 1_235],
    ] as const) {
      const refused = await failure(stripe.transfers.create(transferParams(account.id, { currency, amount })));
      expect([currency, refused.statusCode, refused.code, refused.param]).toEqual([currency, 400, 'invalid_amount', 'amount']);
    }
    const ok = await Promise.all(
      [
        ['isk', 50_000],
        ['huf', 12_300],
        ['kwd', 1_230],
        ['jpy', 7],
      ].map(([currency, amount]) => stripe.transfers.create(transferParams(account.id, { currency: currency as string, amount: amount as number }))),
    );
    expect(ok.map((t) => t.amount)).toEqual([50_000, 12_300, 1_230, 7]);
    // A partial reversal is held to the same rule; the webhook carries the updated transfer.
    await failure(stripe.transfers.createReversal(ok[2].id, { amount: 5 }));
    await stripe.transfers.createReversal(ok[2].id, { amount: 230 });
    await emulator.flushWebhooks();
    const reversed = emulator
      .events()
      .filter((e) => e.type === 'transfer.reversed')
      .at(-1)!;
    expect(reversed.data.object).toMatchObject({ id: ok[2].id, amount_reversed: 230, reversed: false });
  });

  it('sends events of connected accounts to the Connect endpoint, signed with its own secret, when one is registered', async () => {
    emulator.setConnectWebhookUrl(webhookUrl);
    const stripe = client();
    const account = await onboardedAccount(stripe);
    await emulator.flushWebhooks();
    const delivery = emulator.webhookDeliveries().find((d) => d.type === 'account.updated')!;
    // The receiver verifies with the platform's secret only: the Connect endpoint signs with another.
    expect(delivery).toMatchObject({ url: webhookUrl, ok: false });
    expect(emulator.events().find((e) => e.type === 'account.updated')?.account).toBe(account.id);
  });

  it('validates parameters like Stripe', async () => {
    const stripe = client();
    const account = await onboardedAccount(stripe);
    const cases: [Stripe.TransferCreateParams, string, string][] = [
      [{ currency: 'usd', destination: account.id } as Stripe.TransferCreateParams, 'parameter_missing', 'amount'],
      [transferParams(account.id, { amount: 12.5 }), 'parameter_invalid_integer', 'amount'],
      [transferParams(account.id, { amount: 0 }), 'parameter_invalid_integer', 'amount'],
      [{ ...transferParams(account.id), transferGroup: 'x' } as Stripe.TransferCreateParams, 'parameter_unknown', 'transferGroup'],
    ];
    for (const [params, code, param] of cases) {
      const error = await failure(stripe.transfers.create(params));
      expect(error).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
      expect({ code: error.code, param: error.param }).toEqual({ code, param });
    }
  });

  it('lists transfers by transfer_group and destination, newest first, with pagination', async () => {
    const stripe = client();
    const a = await onboardedAccount(stripe);
    const b = await onboardedAccount(stripe);
    const created: string[] = [];
    for (let i = 1; i <= 5; i++) {
      created.push((await stripe.transfers.create(transferParams(i % 2 ? a.id : b.id, { amount: i, transfer_group: 'batch_7' }))).id);
    }
    await stripe.transfers.create(transferParams(a.id, { transfer_group: 'other' }));

    const page = await stripe.transfers.list({ transfer_group: 'batch_7', limit: 2 });
    expect(page).toMatchObject({ object: 'list', has_more: true, url: '/v1/transfers' });
    expect(page.data.map((t) => t.id)).toEqual([created[4], created[3]]);

    const all = await stripe.transfers.list({ transfer_group: 'batch_7', limit: 2 }).autoPagingToArray({ limit: 100 });
    expect(all.map((t) => t.id)).toEqual([...created].reverse());

    const toA = await stripe.transfers.list({ destination: a.id, transfer_group: 'batch_7' });
    expect(toA.data.map((t) => t.amount)).toEqual([5, 3, 1]);
  });

  it('updates transfer metadata', async () => {
    const stripe = client();
    const account = await onboardedAccount(stripe);
    const transfer = await stripe.transfers.create(transferParams(account.id, { metadata: { a: '1' } }));
    const updated = await stripe.transfers.update(transfer.id, { metadata: { b: '2' } });
    expect(updated.metadata).toEqual({ a: '1', b: '2' });
  });

  it('reverses transfers through the API and the control method, emitting transfer.reversed', async () => {
    const stripe = client();
    const account = await onboardedAccount(stripe);
    const before = emulator.balance().usd;
    const t1 = await stripe.transfers.create(transferParams(account.id, { amount: 1000 }));
    const partial = await stripe.transfers.createReversal(t1.id, { amount: 400 });
    expect(partial).toMatchObject({ object: 'transfer_reversal', amount: 400, currency: 'usd', transfer: t1.id });
    expect(partial.id).toMatch(/^trr_/);
    expect(await stripe.transfers.retrieve(t1.id)).toMatchObject({ amount_reversed: 400, reversed: false });

    const rest = emulator.reverseTransfer(t1.id);
    expect(rest.amount).toBe(600);
    const reversed = await stripe.transfers.retrieve(t1.id);
    expect(reversed).toMatchObject({ amount_reversed: 1000, reversed: true });
    expect(reversed.reversals.data.map((r) => r.amount)).toEqual([600, 400]);
    expect(emulator.balance().usd).toBe(before);

    const overReversal = await failure(stripe.transfers.createReversal(t1.id, { amount: 1 }));
    expect(overReversal).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);

    await emulator.flushWebhooks();
    const events = receiver.ofType('transfer.reversed');
    expect(events.map((e) => (e.data.object as Stripe.Transfer).amount_reversed)).toEqual([400, 1000]);
    expect(events[0].request?.id).toBe(partial.lastResponse.requestId);
    expect(events[1].request).toBeNull();
  });

  it('forgetting idempotency keys lets the same key create a second transfer (look up by transfer_group first!)', async () => {
    const stripe = client();
    const account = await onboardedAccount(stripe);
    const params = transferParams(account.id, { transfer_group: 'payout_99' });
    const first = await stripe.transfers.create(params, { idempotencyKey: 'payout-99' });
    emulator.forgetIdempotencyKeys();
    const second = await stripe.transfers.create(params, { idempotencyKey: 'payout-99' });

    expect(second.id).not.toBe(first.id);
    const existing = await stripe.transfers.list({ transfer_group: 'payout_99' });
    expect(existing.data.map((t) => t.id)).toEqual([second.id, first.id]);
  });
});

describe('customers and invoices', () => {
  it('lists customers by email and searches them by metadata', async () => {
    const stripe = client();
    const acme = await stripe.customers.create({ email: 'billing@acme.test', name: 'Acme', metadata: { advertiser_id: 'adv_1' } });
    await stripe.customers.create({ email: 'billing@other.test', metadata: { advertiser_id: 'adv_2' } });
    expect(acme.id).toMatch(/^cus_/);

    expect((await stripe.customers.list({ email: 'billing@acme.test' })).data.map((c) => c.id)).toEqual([acme.id]);
    const found = await stripe.customers.search({ query: "metadata['advertiser_id']:'adv_1'" });
    expect(found).toMatchObject({ object: 'search_result', has_more: false });
    expect(found.data.map((c) => c.id)).toEqual([acme.id]);
    const both = await stripe.customers.search({ query: `metadata["advertiser_id"]:"adv_1" OR email:'billing@other.test'` });
    expect(both.data).toHaveLength(2);
    const malformed = await failure(stripe.customers.search({ query: 'advertiser_id = 1' }));
    expect(malformed).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
  });

  it('bills pending items on an invoice: include, finalize, pay, invoice.paid delivered', async () => {
    const stripe = client();
    const customer = await stripe.customers.create({ email: 'ads@acme.test', metadata: { advertiser_id: 'adv_1' } });
    const item1 = await stripe.invoiceItems.create({ customer: customer.id, amount: 2500, currency: 'EUR', description: 'Leads March' });
    await stripe.invoiceItems.create({ customer: customer.id, amount: 1500, currency: 'eur', metadata: { campaign: 'c9' } });
    expect(item1).toMatchObject({ object: 'invoiceitem', currency: 'eur', invoice: null, amount: 2500 });
    expect(item1.id).toMatch(/^ii_/);

    const invoice = await stripe.invoices.create({
      customer: customer.id,
      currency: 'eur',
      collection_method: 'send_invoice',
      days_until_due: 30,
      auto_advance: false,
      pending_invoice_items_behavior: 'include',
      metadata: { billing_period: '2025-03' },
    });
    expect(invoice).toMatchObject({ object: 'invoice', status: 'draft', customer: customer.id, total: 4000, amount_due: 4000 });
    expect(invoice.id).toMatch(/^in_/);
    expect(invoice.lines.data.map((l) => [l.amount, l.description])).toEqual([
      [2500, 'Leads March'],
      [1500, null],
    ]);
    const onInvoice = await stripe.invoiceItems.list({ invoice: invoice.id });
    expect(onInvoice.data).toHaveLength(2);

    const extra = await stripe.invoiceItems.create({ customer: customer.id, amount: 100, currency: 'eur', invoice: invoice.id });
    expect(extra.invoice).toBe(invoice.id);

    const finalized = await stripe.invoices.finalizeInvoice(invoice.id);
    expect(finalized).toMatchObject({ status: 'open', amount_due: 4100, amount_paid: 0 });
    expect(finalized.hosted_invoice_url).toMatch(/^https:\/\//);
    expect(finalized.number).toMatch(/-0001$/);
    const late = await failure(stripe.invoiceItems.create({ customer: customer.id, amount: 1, currency: 'eur', invoice: invoice.id }));
    expect(late.code).toBe('invoice_not_editable');

    const paid = await stripe.invoices.pay(invoice.id, { paid_out_of_band: true });
    expect(paid).toMatchObject({ status: 'paid', amount_paid: 4100, amount_remaining: 0 });
    expect((await stripe.invoices.list({ customer: customer.id, status: 'paid' })).data.map((i) => i.id)).toEqual([invoice.id]);

    await emulator.flushWebhooks();
    expect(receiver.rejected).toEqual([]);
    expect(receiver.ofType('invoice.finalized')).toHaveLength(1);
    const [paidEvent] = receiver.ofType('invoice.paid');
    expect(paidEvent.data.object).toMatchObject({ id: invoice.id, status: 'paid', metadata: { billing_period: '2025-03' } });
  });

  it('payInvoice marks an open invoice paid and emits invoice.paid; exclude leaves items pending', async () => {
    const stripe = client();
    const customer = await stripe.customers.create({ email: 'x@acme.test' });
    await stripe.invoiceItems.create({ customer: customer.id, amount: 700, currency: 'usd' });
    const empty = await stripe.invoices.create({ customer: customer.id });
    expect(empty.lines.data).toHaveLength(0);
    expect((await stripe.invoiceItems.list({ customer: customer.id, pending: true })).data).toHaveLength(1);

    const invoice = await stripe.invoices.create({ customer: customer.id, pending_invoice_items_behavior: 'include' });
    await stripe.invoices.finalizeInvoice(invoice.id);
    expect(emulator.payInvoice(invoice.id).status).toBe('paid');
    await emulator.flushWebhooks();
    expect(receiver.ofType('invoice.paid').map((e) => (e.data.object as Stripe.Invoice).id)).toEqual([invoice.id]);
  });
});

describe('credit notes, void, uncollectible (billing.ts)', () => {
  async function openInvoice(stripe: Stripe, amount: number): Promise<Stripe.Invoice> {
    const customer = await stripe.customers.create({ email: 'cn@acme.test' });
    const invoice = await stripe.invoices.create({
      customer: customer.id,
      currency: 'usd',
      collection_method: 'send_invoice',
      days_until_due: 30,
      pending_invoice_items_behavior: 'exclude',
    });
    await stripe.invoiceItems.create({ customer: customer.id, amount, currency: 'usd', invoice: invoice.id });
    return stripe.invoices.finalizeInvoice(invoice.id);
  }
  const line = (unit_amount: number) => [{ type: 'custom_line_item' as const, unit_amount, quantity: 1, description: 'reversed' }];

  it('a credit note lowers what is due on an open invoice and must be refunded on a paid one, never beyond what is left', async () => {
    const stripe = client();
    const open = await openInvoice(stripe, 3000);
    const pre = await stripe.creditNotes.create({ invoice: open.id, lines: line(500) });
    expect(pre).toMatchObject({ object: 'credit_note', amount: 500, type: 'pre_payment', pre_payment_amount: 500 });
    expect(await stripe.invoices.retrieve(open.id)).toMatchObject({ total: 3000, amount_due: 2500, pre_payment_credit_notes_amount: 500 });
    expect((await failure(stripe.creditNotes.create({ invoice: open.id, amount: 2600 }))).param).toBe('amount');
    emulator.payInvoice(open.id);
    expect((await failure(stripe.creditNotes.create({ invoice: open.id, lines: line(500) }))).param).toBe('refund_amount');
    const post = await stripe.creditNotes.create({ invoice: open.id, lines: line(500), refund_amount: 500 });
    expect(post).toMatchObject({ type: 'post_payment', post_payment_amount: 500 });
    expect((await stripe.creditNotes.list({ invoice: open.id })).data.map((n) => n.id)).toEqual([post.id, pre.id]);
    expect((await failure(stripe.creditNotes.create({ invoice: open.id, amount: 2100, refund_amount: 2100 }))).param).toBe('amount');
  });

  it('voids, marks uncollectible (still payable, partly with forgive) and deletes only drafts, with their events', async () => {
    const stripe = client();
    const a = await openInvoice(stripe, 1000);
    expect(emulator.markInvoiceUncollectible(a.id)).toMatchObject({ status: 'uncollectible', amount_remaining: 1000 });
    expect(emulator.payInvoice(a.id, 400)).toMatchObject({ status: 'paid', amount_paid: 400, amount_remaining: 0 });
    const b = await openInvoice(stripe, 1000);
    expect(await stripe.invoices.voidInvoice(b.id)).toMatchObject({ status: 'void', amount_remaining: 0 });
    expect((await failure(stripe.invoices.voidInvoice(b.id))).code).toBe('invoice_not_editable');
    expect((await failure(stripe.invoices.del(a.id))).code).toBe('invoice_not_editable');
    const customer = await stripe.customers.create({ email: 'draft@acme.test' });
    const draft = await stripe.invoices.create({ customer: customer.id, currency: 'usd', collection_method: 'send_invoice', days_until_due: 30 });
    expect(await stripe.invoices.del(draft.id)).toMatchObject({ id: draft.id, deleted: true });
    expect((await failure(stripe.invoices.retrieve(draft.id))).statusCode).toBe(404);
    await emulator.flushWebhooks();
    expect(receiver.ofType('invoice.marked_uncollectible').map((e) => (e.data.object as Stripe.Invoice).id)).toContain(a.id);
    expect(receiver.ofType('invoice.voided').map((e) => (e.data.object as Stripe.Invoice).id)).toContain(b.id);
  });
});

describe('webhooks', () => {
  it('redelivers an event with the same id and records failed deliveries', async () => {
    const event = emulator.sendEvent('transfer.created', { id: 'tr_manual', object: 'transfer' });
    expect(event).toMatchObject({ object: 'event', type: 'transfer.created', livemode: false, request: null });
    expect(event.id).toMatch(/^evt_/);
    await emulator.redeliver(event.id);
    await emulator.flushWebhooks();
    expect(receiver.events.filter((e) => e.id === event.id)).toHaveLength(2);

    // An old signature timestamp is refused by constructEvent (default tolerance: 300 s).
    const stale = await emulator.redeliver(event.id, { timestamp: Math.floor(Date.now() / 1000) - 3600 });
    expect(stale).toMatchObject({ attempt: 3, status: 400, ok: false });
    expect(receiver.rejected[0]).toMatch(/tolerance/);

    emulator.setWebhookUrl('http://127.0.0.1:1/unreachable');
    emulator.sendEvent('invoice.paid', { id: 'in_x', object: 'invoice' });
    await emulator.flushWebhooks();
    const last = emulator.webhookDeliveries().at(-1);
    expect(last).toMatchObject({ type: 'invoice.paid', ok: false, status: null });
    expect(last?.error).toBeTruthy();
  });
});

describe('errors and the control API', () => {
  it('answers unknown ids with 404 resource_missing', async () => {
    const error = await failure(client().transfers.retrieve('tr_missing'));
    expect(error).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(error).toMatchObject({
      statusCode: 404,
      code: 'resource_missing',
      param: 'id',
      message: "No such transfer: 'tr_missing'",
      rawType: 'invalid_request_error',
    });
    expect(error.requestId).toMatch(/^req_/);
    expect(error.doc_url).toMatch(/resource-missing/);
  });

  it('answers a bad API key with 401 (StripeAuthenticationError)', async () => {
    const error = await failure(client({}, 'sk_live_abcdefgh1234').balance.retrieve());
    expect(error).toBeInstanceOf(Stripe.errors.StripeAuthenticationError);
    expect(error.statusCode).toBe(401);
    expect(error.message).toMatch(/^Invalid API Key provided: sk_live_\*{8}1234$/);

    const strict = new StripeEmulator({ apiKey: 'sk_test_only_this' });
    const { port: strictPort } = await strict.start();
    try {
      const other = new Stripe(API_KEY, { host: '127.0.0.1', port: strictPort, protocol: 'http', maxNetworkRetries: 0 });
      expect(await failure(other.balance.retrieve())).toBeInstanceOf(Stripe.errors.StripeAuthenticationError);
      const right = new Stripe('sk_test_only_this', { host: '127.0.0.1', port: strictPort, protocol: 'http' });
      expect((await right.balance.retrieve()).object).toBe('balance');
    } finally {
      await strict.stop();
    }
  });

  it('exposes the control API over HTTP', async () => {
    const stripe = client();
    const account = await stripe.accounts.create({ type: 'express', capabilities: { transfers: { requested: true } } });
    const control = (method: string, path: string, body?: unknown) =>
      fetch(`${emulator.url}/__emulator${path}`, { method, body: body === undefined ? undefined : JSON.stringify(body) });

    expect((await control('POST', `/accounts/${account.id}/complete-onboarding`)).status).toBe(200);
    expect((await control('POST', '/faults', { path: '^/v1/transfers$', kind: 'error500', times: 1 })).status).toBe(201);
    expect(await failure(stripe.transfers.create(transferParams(account.id)))).toBeInstanceOf(Stripe.errors.StripeAPIError);

    const transfer = await stripe.transfers.create(transferParams(account.id));
    const listed = (await (await control('GET', '/transfers')).json()) as Stripe.Transfer[];
    expect(listed.map((t) => t.id)).toEqual([transfer.id]);

    const reversed = (await (await control('POST', `/transfers/${transfer.id}/reverse`)).json()) as Stripe.TransferReversal;
    expect(reversed.amount).toBe(transfer.amount);

    expect((await control('POST', '/faults', { path: 'transfers', kind: 'bogus' })).status).toBe(400);
    expect((await control('DELETE', '/faults')).status).toBe(200);
    expect((await control('POST', '/forget-idempotency')).status).toBe(200);
    expect((await control('POST', '/webhook-url', { url: webhookUrl })).status).toBe(200);
    // An endpoint's enabled_events: a type left out is recorded but not sent.
    expect((await control('POST', '/webhook-url', { url: webhookUrl, enabledEvents: ['transfer.reversed'] })).status).toBe(200);
    await stripe.transfers.create(transferParams(account.id, { transfer_group: 'payout_not_sent' }));
    await emulator.flushWebhooks();
    expect(receiver.ofType('transfer.created')).toHaveLength(1);
    expect((await control('POST', '/webhook-url', { url: webhookUrl, enabledEvents: 'all' })).status).toBe(400);
    expect((await control('POST', '/webhook-url', { url: webhookUrl, enabledEvents: ['*'] })).status).toBe(200);
    expect((await control('POST', '/rate-limit', { perSecond: 1 })).status).toBe(200);
    await stripe.transfers.create(transferParams(account.id, { transfer_group: 'payout_limited_1' }));
    expect(await failure(stripe.transfers.create(transferParams(account.id, { transfer_group: 'payout_limited_2' })))).toBeInstanceOf(Stripe.errors.StripeRateLimitError);
    expect((await control('POST', '/rate-limit', {})).status).toBe(200);
    expect(((await (await control('GET', '/in-flight-peak')).json()) as { peak: number }).peak).toBeGreaterThanOrEqual(1);

    const state = (await (await control('GET', '/state')).json()) as { transfers: Stripe.Transfer[]; faults: unknown[] };
    expect(state.transfers.find((t) => t.id === transfer.id)).toMatchObject({ id: transfer.id, reversed: true });
    expect(state.faults).toEqual([]);
    expect((await control('GET', '/nope')).status).toBe(404);
  });

  it('answers unknown routes with 404 invalid_request_error', async () => {
    const stripe = client();
    const error = await failure(stripe.rawRequest('GET', '/v1/not_a_thing', {}));
    expect(error).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(error.statusCode).toBe(404);
    expect(error.message).toMatch(/^Unrecognized request URL \(GET: \/v1\/not_a_thing\)/);
  });
});
