import { ConversionsService } from '../../../src/modules/conversions/conversions.service';
import { StripeEmulator } from '../../support/stripe-emulator/emulator';
import { createTestApp, TestApp } from '../../support/create-test-app';
import { drainQueues } from '../../support/drain';
import { auth, createAdvertiser, createAffiliate, createFinanceUser, createOffer, OfferHandle, PrincipalHandle } from '../../support/factories';
import { click as clickLink, createLink, flushClicks } from '../../support/tracking.factories';
import { CommissionsService } from '../../../src/modules/commissions/commissions.service';
import { STRIPE_KEY, WEBHOOK_SECRET } from '../../faults/support/emulator';
import { DbFaultInjector } from './db-faults';
import { Currency, describeStep, Goal, Step, StripeFaultKind, StripeFaultTarget, TxnRef } from './history';
import { checkInvariants, InvariantViolation } from './invariants';

export { InvariantViolation };

/** Held back and delivered when, how often and in which order the history says. */
const HELD_EVENTS = new Set(['transfer.reversed', 'invoice.paid', 'account.updated']);
const BILLING_PERIOD = { from: '2020-01-01T00:00:00Z', to: '2100-01-01T00:00:00Z' };
const THRESHOLD = 100;

export interface SimCounters {
  steps: number;
  faults: number;
  checks: number;
}

/** The index of the prepaid advertiser in `advertisers`. */
const PREPAID = 2;

interface OfferInfo {
  offer: OfferHandle;
  currency: Currency;
  advertiser: number;
}
interface ClickInfo {
  clickId: string;
  offer: number;
  affiliate: number;
}
interface TxnInfo {
  advertiser: number;
  goal: Goal;
  txnId: string;
}
export interface Expectations {
  /** advertiser|goal|txn → the conversion every answer for it named. */
  conversionByTxn: Map<string, string>;
  /** advertiser|goal|txn → the sale amount (minor units) of the first authenticated report. */
  firstAuthenticatedAmount: Map<string, { advertiserId: string; goal: Goal; txnId: string; amount: number }>;
}

const minorToDecimal = (amount: number, currency: Currency) => (currency === 'JPY' ? String(amount) : (amount / 100).toFixed(2));

/**
 * One simulated network: the whole AppModule with its workers on a database and Redis prefix of
 * its own, the Stripe emulator whose webhooks the history holds back, a fixed cast (two
 * advertisers, offers in USD, EUR and JPY with lock periods 0, 1 and 30 days, three affiliates
 * onboarded on Stripe Connect, a link and a coupon per affiliate and offer) and what the history
 * has done so far. Steps run one after another; after each, the queues drain and every invariant
 * is checked.
 */
export class World {
  t!: TestApp;
  readonly stripe = new StripeEmulator({ webhookSecret: WEBHOOK_SECRET });
  private webhookUrl = '';
  advertisers: PrincipalHandle[] = [];
  affiliates: (PrincipalHandle & { accountId: string })[] = [];
  finance!: PrincipalHandle;
  offers: OfferInfo[] = [];
  links: { code: string; offer: number; affiliate: number }[] = [];
  coupons: { code: string; offer: number }[] = [];
  clicks: ClickInfo[] = [];
  txns: TxnInfo[] = [];
  conversions: { id: string; advertiser: number }[] = [];
  held: { id: string; type: string }[] = [];
  readonly expect: Expectations = { conversionByTxn: new Map(), firstAuthenticatedAmount: new Map() };
  private seenEvents = new Set<string>();
  /** An armed fault waits this many steps for a statement or request to hit, then is dropped. */
  private static readonly FAULT_STEPS = 4;
  private dbStepsLeft = 0;
  private pendingStripe: { kind: StripeFaultKind; target: StripeFaultTarget; times: number; stepsLeft: number } | null = null;
  /** Whether a fault hit during the step running now. */
  private faulted: () => boolean = () => false;
  private seq = 0;
  /** What ran, for the report: each step with what it found and any fault that fired. */
  readonly log: string[] = [];

  private constructor(
    private readonly injector: DbFaultInjector,
    readonly counters: SimCounters,
  ) {}

  static async create(injector: DbFaultInjector, counters: SimCounters): Promise<World> {
    const w = new World(injector, counters);
    injector.paused = true;
    const t0 = Date.now();
    const { url } = await w.stripe.start();
    w.t = await createTestApp({
      workers: true,
      listen: true,
      env: {
        STRIPE_SECRET_KEY: STRIPE_KEY,
        STRIPE_API_URL: url,
        STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
        STRIPE_TIMEOUT_MS: '1000',
        STRIPE_MAX_NETWORK_RETRIES: '2',
        LOG_LEVEL: 'error',
      },
    });
    w.webhookUrl = `${w.t.baseUrl}/webhooks/stripe`;
    const t1 = Date.now();
    await w.setUp();
    if (process.env.SIM_DEBUG) console.log(`world: app ${t1 - t0} ms, cast ${Date.now() - t1} ms`);
    return w;
  }

  get databaseName(): string {
    return this.t.databaseName;
  }

  private async setUp(): Promise<void> {
    const t = this.t;
    [this.advertisers, this.finance] = await Promise.all([Promise.all([createAdvertiser(t), createAdvertiser(t), createAdvertiser(t)]), createFinanceUser(t)]);
    // The third advertiser is prepaid (its offer: a tiered lead payout and a bonus, funded for five leads at first).
    await this.ok(t.http.patch(`/v1/advertisers/${this.advertisers[PREPAID].id}`).set(auth(t.adminKey)).send({ billingMode: 'prepaid', lowBalanceAlert: 1200 }), 'prepaid');
    const goals = [
      { key: 'sale', revenue: { type: 'percent', bps: 1500 }, payout: { type: 'percent', bps: 1000 } },
      { key: 'lead', revenue: { type: 'flat', amount: 600 }, payout: { type: 'flat', amount: 400 } },
    ];
    const tieredGoals = [
      goals[0],
      {
        key: 'lead',
        revenue: { type: 'flat', amount: 600 },
        payout: {
          type: 'tiered',
          basis: 'conversions',
          period: 'month',
          tiers: [
            { from: 0, rule: { type: 'flat', amount: 400 } },
            { from: 3, rule: { type: 'flat', amount: 500 } },
          ],
        },
      },
    ];
    const plan: [number, Currency, number][] = [
      [0, 'USD', 0],
      [0, 'EUR', 1],
      [1, 'JPY', 0],
      [1, 'USD', 30],
      [PREPAID, 'USD', 0],
    ];
    this.offers = await Promise.all(
      plan.map(async ([advertiser, currency, lockPeriodDays]) => ({
        offer: await createOffer(t, this.advertisers[advertiser], { currency, lockPeriodDays, goals: advertiser === PREPAID ? tieredGoals : goals }),
        currency,
        advertiser,
      })),
    );
    const prepaidOffer = this.offers[this.offers.length - 1].offer;
    await this.ok(
      t.http
        .post(`/v1/offers/${prepaidOffer.id}/bonuses`)
        .set(auth(this.advertisers[PREPAID].apiKey))
        .send({ name: 'Three leads', goal: 'lead', metric: 'conversions', threshold: 3, period: 'month', amount: 700 }),
      'bonus',
    );
    await this.ok(
      t.http.post(`/v1/advertisers/${this.advertisers[PREPAID].id}/fundings`).set(auth(this.finance.apiKey)).send({ amount: 3000, currency: 'USD', reference: 'opening' }),
      'funding',
    );
    // Three affiliates, set up side by side; their order in every list stays fixed.
    const made = await Promise.all([0, 1, 2].map((a) => this.affiliate(a)));
    for (const m of made) {
      this.affiliates.push(m.affiliate);
      this.links.push(...m.links);
      this.coupons.push(...m.coupons);
    }
    // The onboarding webhooks arrive at once: affiliates start payable.
    this.collectEvents();
    for (const e of this.held.splice(0)) await this.deliverEvent(e.id);
    await this.settle();
  }

  private async affiliate(a: number) {
    const t = this.t;
    const affiliate = await createAffiliate(t);
    await this.ok(t.http.patch(`/v1/affiliates/${affiliate.id}`).set(auth(t.adminKey)).send({ payoutThreshold: THRESHOLD }), 'threshold');
    const res = await this.ok(t.http.post('/v1/payout-accounts').set(auth(affiliate.apiKey)).send({}), 'onboard');
    this.stripe.completeOnboarding(res.body.accountId);
    const links = await Promise.all(this.offers.map(async (info, o) => ({ code: (await createLink(t, affiliate, info.offer.id)).code, offer: o, affiliate: a })));
    const coupons = await Promise.all(
      this.offers.map(async (info, o) => {
        const code = `SIM${a}X${o}`;
        await this.ok(t.http.post('/v1/coupons').set(auth(this.advertisers[info.advertiser].apiKey)).send({ offerId: info.offer.id, affiliateId: affiliate.id, code }), 'coupon');
        return { code, offer: o };
      }),
    );
    return { affiliate: { ...affiliate, accountId: res.body.accountId as string }, links, coupons };
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- supertest's bodies are untyped JSON
  private async ok(req: PromiseLike<{ status: number; body: any }>, what: string) {
    const res = await req;
    if (res.status >= 300) throw new Error(`${what}: ${res.status} ${JSON.stringify(res.body)}`);
    return res;
  }

  // -- running a history ---------------------------------------------------------------

  async run(steps: Step[]): Promise<void> {
    for (const [i, step] of steps.entries()) {
      const label = `#${i + 1} ${describeStep(step)}`;
      try {
        await this.step(step);
        this.counters.steps++;
        const quiet = !this.held.some((e) => e.type !== 'account.updated');
        await checkInvariants(this, quiet ? 'quiet' : 'busy');
      } catch (error) {
        if (error instanceof InvariantViolation) throw Object.assign(new InvariantViolation(`after step ${label}: ${error.message}${this.faultsFired()}`), { step: i + 1 });
        throw new Error(`harness error in step ${label}: ${(error as Error).stack ?? error}`);
      }
      this.log.push(label);
    }
    if (process.env.SIM_DEBUG) console.log(this.log.join('\n'));
    // The end of every history: everything held arrives, an invoice run bills what is left.
    try {
      // Stripe sends an event again until the endpoint takes it (an injected fault may refuse one).
      for (const e of this.held.splice(0)) {
        for (let attempt = 0; attempt < 5 && !(await this.deliverEvent(e.id)); attempt++) await this.settle();
      }
      // The sweeper's pass over pixels that raced an authenticated report, without its grace period.
      await this.t.app.get(ConversionsService).supersedeRacedPixels(0, 1000);
      await this.settle();
      await this.ok(this.t.http.post('/v1/invoice-runs').set(auth(this.finance.apiKey)).send(BILLING_PERIOD), 'final invoice run');
      await this.settle();
      this.collectEvents();
      await checkInvariants(this, 'final');
    } catch (error) {
      if (error instanceof InvariantViolation)
        throw Object.assign(new InvariantViolation(`at the end (every held webhook delivered, a final invoice run): ${error.message}${this.faultsFired()}`), {
          step: steps.length + 1,
        });
      throw error;
    }
  }

  /** The faults that hit so far, each under the step it hit in, for the report. */
  private faultsFired(): string {
    const lines: string[] = [];
    this.log.forEach((line, i) => {
      if (line.startsWith('   ')) lines.push(`${this.log[i + 1] && !this.log[i + 1].startsWith('   ') ? this.log[i + 1].split(' ')[0] : 'this step'}:${line}`);
    });
    return lines.length ? `\nfaults that hit:\n${lines.join('\n')}` : '';
  }

  /** Relays the outbox and waits for every queue; a drain that an injected fault broke is tried again. */
  async settle(): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await drainQueues(this.t, { timeoutMs: 120_000 });
        return;
      } catch (error) {
        if (attempt >= 2 || /not drained/.test((error as Error).message)) throw error;
      }
    }
  }

  private collectEvents(): void {
    for (const e of this.stripe.events()) {
      if (this.seenEvents.has(e.id)) continue;
      this.seenEvents.add(e.id);
      if (HELD_EVENTS.has(e.type)) this.held.push({ id: e.id, type: e.type });
    }
  }

  /** Delivers one event now; false when the app did not take it (Stripe would send it again). */
  private async deliverEvent(id: string): Promise<boolean> {
    this.stripe.setWebhookUrl(this.webhookUrl);
    try {
      const delivery = await this.stripe.redeliver(id);
      return delivery?.ok ?? false;
    } finally {
      this.stripe.setWebhookUrl(undefined);
    }
  }

  private async step(step: Step): Promise<void> {
    const firedBefore = this.injector.fired.length;
    const stripeBefore = this.stripeFaultCount();
    const stripeFault = this.pendingStripe;
    if (stripeFault) {
      const { kind, target, times } = stripeFault;
      const path = target === 'transfers' ? /^\/v1\/transfers/ : target === 'invoices' ? /^\/v1\/(invoices|invoiceitems|customers)/ : /^\/v1\//;
      this.stripe.injectFault({ kind, path, times, ...(target === 'any' ? {} : { method: 'POST' }) });
    }
    this.injector.paused = false;
    this.faulted = () => this.injector.fired.length > firedBefore || this.stripeFaultCount() > stripeBefore;
    try {
      await this.act(step, this.faulted);
      await this.settle();
    } finally {
      // Invariants are checked with every fault out of the way; a fault that has not hit yet waits for the next step.
      this.injector.paused = true;
      this.stripe.clearFaults();
      const dbFired = this.injector.fired.length - firedBefore;
      const stripeFired = this.stripeFaultCount() - stripeBefore;
      this.counters.faults += dbFired + stripeFired;
      if (dbFired || (this.injector.isArmed && step.k !== 'dbFault' && --this.dbStepsLeft <= 0)) this.injector.disarm();
      if (stripeFault && step.k !== 'stripeFault') {
        stripeFault.times -= stripeFired;
        if (stripeFault.times <= 0 || --stripeFault.stepsLeft <= 0) this.pendingStripe = null;
      }
      for (const f of this.injector.fired.slice(firedBefore)) this.log.push(`   db fault ${f.when} #${f.nth} ${f.scope}: ${f.sql}`);
      if (stripeFired) this.log.push(`   ${stripeFired} Stripe fault(s) ${stripeFault?.kind}`);
      this.collectEvents();
    }
  }

  private stripeFaultCount(): number {
    return this.stripe.requestLog().reduce((n, r) => n + r.faults.length, 0);
  }

  /** A request the way a client makes it: a 5xx after an injected fault is sent again once. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- supertest's bodies are untyped JSON
  private async call<R extends { status: number; body: any }>(
    make: () => PromiseLike<R>,
    faulted: () => boolean,
    what: string,
    accept: (status: number) => boolean = (s) => s < 300,
  ) {
    let res = await make();
    if (res.status >= 500 && faulted()) res = await make();
    if (!accept(res.status)) throw new InvariantViolation(`${what} answered ${res.status} ${JSON.stringify(res.body)}${faulted() ? ' (after an injected fault)' : ''}`);
    return res;
  }

  private async act(step: Step, faulted: () => boolean): Promise<void> {
    const t = this.t;
    switch (step.k) {
      case 'click':
        return void (await this.click(step.link));
      case 'postback':
      case 'coupon':
      case 'pixel': {
        let offer: number;
        const query: Record<string, string> = {};
        let cookie: string | undefined;
        if (step.k === 'coupon') {
          const coupon = this.coupons[step.coupon % this.coupons.length];
          offer = coupon.offer;
          query.coupon = coupon.code;
        } else {
          const c = this.clicks.length ? this.clicks[step.click % this.clicks.length] : await this.click(step.click);
          offer = c.offer;
          if (step.k === 'pixel') cookie = `afx_click=${c.clickId}`;
          else query.click_id = c.clickId;
        }
        const info = this.offers[offer];
        const txn = this.txn(info.advertiser, step.goal, step.txn);
        Object.assign(query, { goal: txn.goal, txn_id: txn.txnId });
        if (txn.goal === 'sale') Object.assign(query, { amount: minorToDecimal(step.amount, info.currency), currency: info.currency });
        const key = `${info.advertiser}|${txn.goal}|${txn.txnId}`;
        if (step.k === 'pixel') {
          await t.http
            .get('/pixel.gif')
            .query(query)
            .set('Cookie', cookie as string);
          return;
        }
        query.token = this.advertisers[info.advertiser].postbackToken as string;
        const copies = 'copies' in step ? step.copies : 1;
        const answers = await Promise.all(
          Array.from({ length: copies }, () => this.call(() => t.http.get('/postback').query(query), faulted, `postback ${JSON.stringify(query)}`)),
        );
        if (txn.goal === 'sale' && !this.expect.firstAuthenticatedAmount.has(key)) {
          this.expect.firstAuthenticatedAmount.set(key, { advertiserId: this.advertisers[info.advertiser].id, goal: txn.goal, txnId: txn.txnId, amount: step.amount });
        }
        for (const res of answers) {
          const id = res.body.id as string;
          const known = this.expect.conversionByTxn.get(key);
          if (known && known !== id) throw new InvariantViolation(`one advertiser, goal and txn_id, two conversions: ${key} answered ${known} and ${id}`);
          this.expect.conversionByTxn.set(key, id);
          if (!this.conversions.some((c) => c.id === id)) this.conversions.push({ id, advertiser: info.advertiser });
        }
        return;
      }
      case 'approve':
      case 'reject':
      case 'reverse': {
        if (!this.conversions.length) return;
        const c = this.conversions[step.conv % this.conversions.length];
        // A transition the conversion's status does not allow is refused with a 4xx; never a 5xx.
        await this.call(
          () => t.http.post(`/v1/conversions/${c.id}/${step.k}`).set(auth(this.advertisers[c.advertiser].apiKey)).send({ reason: 'simulation' }),
          faulted,
          `${step.k} ${c.id}`,
          (s) => s < 500,
        );
        return;
      }
      case 'reversePostback': {
        if (!this.txns.length) return;
        const txn = this.txns[step.txn % this.txns.length];
        const query = { token: this.advertisers[txn.advertiser].postbackToken as string, goal: txn.goal, txn_id: txn.txnId, status: 'reversed' };
        await this.call(
          () => t.http.get('/postback').query(query),
          faulted,
          `reversal postback ${txn.txnId}`,
          (s) => s < 500,
        );
        return;
      }
      case 'approveDue': {
        const commissions = t.app.get(CommissionsService);
        const now = new Date(Date.now() + step.days * 86_400_000);
        try {
          await commissions.approveDue(500, now);
        } catch (error) {
          if (!faulted()) throw error;
          await commissions.approveDue(500, now); // the scheduler runs it again a minute later
        }
        return;
      }
      case 'payoutRun':
        await this.call(() => t.http.post('/v1/payout-runs').set(auth(this.finance.apiKey)).send({ currency: step.currency }), faulted, `payout run ${step.currency}`);
        return;
      case 'invoiceRun':
        await this.call(
          () =>
            t.http
              .post('/v1/invoice-runs')
              .set(auth(this.finance.apiKey))
              .send({ ...BILLING_PERIOD, ...(step.currency ? { currency: step.currency } : {}) }),
          faulted,
          'invoice run',
        );
        return;
      case 'reverseTransfer': {
        const open = this.stripe.transfers().filter((tr) => tr.amount_reversed < tr.amount);
        if (!open.length) return;
        // Synchronous from here on, so a racing reversal cannot make `remaining` stale.
        const tr = open[step.transfer % open.length];
        const remaining = tr.amount - tr.amount_reversed;
        // Straight on the emulator's store, clear of the faults injected into its API.
        this.stripe.reverseTransfer(tr.id, step.part === 0 ? undefined : Math.max(1, Math.floor((remaining * step.part) / 4)));
        return;
      }
      case 'payInvoice': {
        const open = this.stripe.invoices().filter((inv) => inv.status === 'open');
        if (open.length) this.stripe.payInvoice(open[step.invoice % open.length].id as string);
        return;
      }
      case 'deliver': {
        this.collectEvents();
        if (!this.held.length) return;
        const i = step.event % this.held.length;
        const delivered = await this.deliverEvent(this.held[i].id);
        if (delivered && !step.keep) this.held.splice(i, 1);
        return;
      }
      case 'deliverAll': {
        this.collectEvents();
        const order = this.held.map((e, i) => ({ e, key: step.order[i] ?? 1000 + i })).sort((a, b) => a.key - b.key);
        const kept: { id: string; type: string }[] = [];
        for (const { e } of order) if (!(await this.deliverEvent(e.id))) kept.push(e);
        this.held = kept;
        return;
      }
      case 'stripeFault':
        this.pendingStripe = { kind: step.kind, target: step.target, times: step.times, stepsLeft: World.FAULT_STEPS };
        return;
      case 'forgetIdempotencyKeys':
        this.stripe.forgetIdempotencyKeys();
        return;
      case 'dbFault':
        this.injector.arm({ scope: step.scope, when: step.when, nth: step.nth, ...(step.match === undefined ? {} : { match: step.match }) });
        this.dbStepsLeft = World.FAULT_STEPS;
        return;
      case 'topUp':
        await this.call(
          () =>
            t.http
              .post(`/v1/advertisers/${this.advertisers[PREPAID].id}/fundings`)
              .set(auth(this.finance.apiKey))
              .send({ amount: step.amount, currency: 'USD', reference: `top-up ${++this.seq}` }),
          faulted,
          'top-up',
        );
        return;
      case 'restart':
        return this.restart();
      case 'race':
        await Promise.all([this.act(step.first, faulted), new Promise((resolve) => setTimeout(resolve, step.delayMs)).then(() => this.act(step.second, faulted))]);
        return;
    }
  }

  private async click(linkIndex: number): Promise<ClickInfo> {
    const link = this.links[linkIndex % this.links.length];
    // A visitor whose click failed on an injected fault clicks again.
    const res = await this.call(
      () => clickLink(this.t, link.code),
      this.faulted,
      `click on ${link.code}`,
      (s) => s === 302,
    );
    const clickId = new URL(res.headers.location).searchParams.get('cid') as string;
    await flushClicks(this.t);
    const info = { clickId, offer: link.offer, affiliate: link.affiliate };
    this.clicks.push(info);
    return info;
  }

  private txn(advertiser: number, goal: Goal, ref: TxnRef): TxnInfo {
    const mine = this.txns.filter((x) => x.advertiser === advertiser);
    if (ref !== 'new' && mine.length) return mine[ref % mine.length];
    const txn = { advertiser, goal, txnId: `SIM-${++this.seq}` };
    this.txns.push(txn);
    return txn;
  }

  /** The app closes (its workers finish what they hold) and a new one starts on the same database and Redis prefix. */
  private async restart(): Promise<void> {
    await this.t.app.close();
    // The boot is no money path: an armed fault waits for the new app's work, not its start.
    this.injector.paused = true;
    try {
      this.t = await createTestApp({ workers: true, listen: true, reuse: this.t });
    } finally {
      this.injector.paused = false;
    }
    this.webhookUrl = `${this.t.baseUrl}/webhooks/stripe`;
  }

  async close(): Promise<void> {
    this.injector.disarm();
    await this.t.close();
    await this.stripe.stop();
  }
}
