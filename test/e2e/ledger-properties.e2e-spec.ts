import fc from 'fast-check';
import { randomUUID } from 'node:crypto';
import { PrincipalsService } from '../../src/modules/principals/principals.service';
import { LedgerService } from '../../src/modules/ledger/ledger.service';
import {
  approvalLines,
  commissionLines,
  invoicePaidLines,
  LEDGER_KINDS,
  payoutFailedLines,
  payoutLines,
  PostingInput,
  reversalLines,
} from '../../src/modules/ledger/ledger.postings';
import { formatVerification, verifyLedger } from '../../src/modules/ledger/ledger.verify';
import { createTestApp, TestApp } from '../support/create-test-app';

/**
 * Random histories of conversions and payouts, posted through the real LedgerService into a
 * real database, against a model that knows only what each business event means for each
 * balance (not which lines it posts).
 */

type Op =
  | { t: 'commission'; aff: number; adv: number; cur: number; revenue: number; payout: number }
  | { t: 'approve' | 'reverse' | 'payout' | 'payoutFail' | 'replay'; pick: number }
  | { t: 'invoicePaid'; pick: number; amount: number };

type Status = 'pending' | 'approved' | 'paid' | 'reversed';

interface Conv {
  id: string;
  affiliateId: string;
  advertiserId: string;
  currency: string;
  revenue: number;
  payout: number;
  status: Status;
}

interface Payout {
  id: string;
  affiliateId: string;
  currency: string;
  amount: number;
  clawback: number;
  convs: Conv[];
  failed: boolean;
}

interface AffiliateModel {
  pending: number;
  available: number;
  paid: number;
  clawback: number;
}

/** Balances as the business sees them: liabilities and margin credit-positive, assets debit-positive. */
class Model {
  readonly convs: Conv[] = [];
  readonly payouts: Payout[] = [];
  readonly posted: PostingInput[] = [];
  readonly affiliates = new Map<string, AffiliateModel>();
  readonly receivable = new Map<string, number>();
  readonly margin = new Map<string, number>();
  readonly stripe = new Map<string, number>();

  affiliate(affiliateId: string, currency: string): AffiliateModel {
    const key = `${affiliateId}|${currency}`;
    let m = this.affiliates.get(key);
    if (!m) this.affiliates.set(key, (m = { pending: 0, available: 0, paid: 0, clawback: 0 }));
    return m;
  }

  add(map: Map<string, number>, key: string, delta: number): void {
    map.set(key, (map.get(key) ?? 0) + delta);
  }

  earn(c: Conv, sign: 1 | -1): void {
    this.add(this.receivable, `${c.advertiserId}|${c.currency}`, sign * c.revenue);
    this.add(this.margin, c.currency, sign * (c.revenue - c.payout));
  }
}

const CURRENCIES = ['USD', 'JPY', 'KWD', 'EUR'];
const amount = fc.integer({ min: 0, max: 5_000_000 });
const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      t: fc.constant('commission' as const),
      aff: fc.nat(2),
      adv: fc.nat(1),
      cur: fc.nat(2),
      revenue: amount,
      payout: fc.integer({ min: 1, max: 5_000_000 }),
    }),
  },
  { weight: 4, arbitrary: fc.record({ t: fc.constant('approve' as const), pick: fc.nat() }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('reverse' as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('payout' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('payoutFail' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('invoicePaid' as const), pick: fc.nat(), amount: fc.integer({ min: 1, max: 5_000_000 }) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('replay' as const), pick: fc.nat() }) },
);
const scenario = fc.record({
  currencies: fc.shuffledSubarray(CURRENCIES, { minLength: 2, maxLength: 3 }),
  ops: fc.array(op, { minLength: 1, maxLength: 60, size: 'max' }),
});

const pickFrom = <T>(items: T[], pick: number): T | undefined => (items.length ? items[pick % items.length] : undefined);

describe('ledger properties', () => {
  let t: TestApp;
  let ledger: LedgerService;
  let principals: PrincipalsService;

  beforeAll(async () => {
    t = await createTestApp();
    ledger = t.app.get(LedgerService);
    principals = t.app.get(PrincipalsService);
  });
  afterAll(() => t.close());

  const principal = async (role: 'affiliate' | 'advertiser') => {
    const { principal: p } = await principals.createPrincipal(role, { name: role, email: `${randomUUID()}@example.test` });
    return p.id;
  };

  const networkBalances = async (currencies: string[]) =>
    Object.fromEntries(
      await Promise.all(
        currencies.map(async (currency) => [
          currency,
          {
            margin: await ledger.accountBalance(null, { type: 'network_margin', currency }),
            stripe: await ledger.accountBalance(null, { type: 'stripe_clearing', currency }),
          },
        ]),
      ),
    ) as Record<string, { margin: number; stripe: number }>;

  /** Applies one event to the ledger and, once it is posted, to the model. */
  async function apply(model: Model, o: Op, affiliates: string[], advertisers: string[], currencies: string[]): Promise<void> {
    const post = async (input: PostingInput) => {
      const result = await t.dataSource.transaction((m) => ledger.post(m, input));
      expect(result.created).toBe(true);
      model.posted.push(input);
    };
    switch (o.t) {
      case 'commission': {
        const c: Conv = {
          id: randomUUID(),
          affiliateId: affiliates[o.aff],
          advertiserId: advertisers[o.adv],
          currency: currencies[o.cur % currencies.length],
          revenue: o.revenue,
          payout: o.payout,
          status: 'pending',
        };
        await post({ kind: LEDGER_KINDS.commission, causeType: 'conversion', causeId: c.id, lines: commissionLines(c) });
        model.convs.push(c);
        model.earn(c, 1);
        model.affiliate(c.affiliateId, c.currency).pending += c.payout;
        return;
      }
      case 'approve': {
        const c = pickFrom(
          model.convs.filter((x) => x.status === 'pending'),
          o.pick,
        );
        if (!c) return;
        await post({ kind: LEDGER_KINDS.approval, causeType: 'conversion', causeId: c.id, lines: approvalLines(c) });
        c.status = 'approved';
        const a = model.affiliate(c.affiliateId, c.currency);
        a.pending -= c.payout;
        a.available += c.payout;
        return;
      }
      case 'reverse': {
        const c = pickFrom(
          model.convs.filter((x) => x.status !== 'reversed'),
          o.pick,
        );
        if (!c || c.status === 'reversed') return;
        await post({ kind: LEDGER_KINDS.reversal, causeType: 'conversion', causeId: c.id, lines: reversalLines(c, c.status) });
        const a = model.affiliate(c.affiliateId, c.currency);
        if (c.status === 'pending') a.pending -= c.payout;
        if (c.status === 'approved') a.available -= c.payout;
        if (c.status === 'paid') a.clawback += c.payout;
        model.earn(c, -1);
        c.status = 'reversed';
        return;
      }
      case 'payout': {
        // As a payout run would: pay what is available, less the clawback it nets off.
        const payable = [...model.affiliates].filter(([, a]) => a.available - a.clawback > 0);
        const [key, a] = pickFrom(payable, o.pick) ?? [];
        if (!key || !a) return;
        const [affiliateId, currency] = key.split('|');
        const p: Payout = { id: randomUUID(), affiliateId, currency, amount: a.available - a.clawback, clawback: a.clawback, convs: [], failed: false };
        await post({ kind: LEDGER_KINDS.payout, causeType: 'payout', causeId: p.id, lines: payoutLines(p, p.amount, p.clawback) });
        p.convs = model.convs.filter((c) => c.affiliateId === affiliateId && c.currency === currency && c.status === 'approved');
        p.convs.forEach((c) => (c.status = 'paid'));
        model.payouts.push(p);
        a.available -= p.amount + p.clawback;
        a.clawback -= p.clawback;
        a.paid += p.amount;
        model.add(model.stripe, currency, -p.amount);
        return;
      }
      case 'payoutFail': {
        const p = pickFrom(
          model.payouts.filter((x) => !x.failed),
          o.pick,
        );
        if (!p) return;
        await post({ kind: LEDGER_KINDS.payoutReversal, causeType: 'payout', causeId: p.id, lines: payoutFailedLines(p, p.amount, p.clawback) });
        p.failed = true;
        p.convs.filter((c) => c.status === 'paid').forEach((c) => (c.status = 'approved'));
        const a = model.affiliate(p.affiliateId, p.currency);
        a.available += p.amount + p.clawback;
        a.clawback += p.clawback;
        a.paid -= p.amount;
        model.add(model.stripe, p.currency, p.amount);
        return;
      }
      case 'invoicePaid': {
        const [key, owed] =
          pickFrom(
            [...model.receivable].filter(([, r]) => r > 0),
            o.pick,
          ) ?? [];
        if (!key || !owed) return;
        const [advertiserId, currency] = key.split('|');
        const paid = Math.min(owed, o.amount);
        await post({ kind: LEDGER_KINDS.invoicePaid, causeType: 'invoice', causeId: randomUUID(), lines: invoicePaidLines({ advertiserId, currency }, paid) });
        model.add(model.receivable, `${advertiserId}|${currency}`, -paid);
        model.add(model.stripe, currency, paid);
        return;
      }
      case 'replay': {
        const input = pickFrom(model.posted, o.pick);
        if (!input) return;
        const again = await t.dataSource.transaction((m) => ledger.post(m, input));
        expect(again.created).toBe(false);
        return;
      }
    }
  }

  async function expectLedgerMatches(model: Model, affiliates: string[], advertisers: string[], currencies: string[], before: Record<string, { margin: number; stripe: number }>) {
    const verified = await verifyLedger(t.dataSource);
    if (!verified.ok) throw new Error(formatVerification(verified).join('\n'));

    // Debits equal credits, and all balances together hold nothing, per currency.
    const totals: { currency: string; debits: string; credits: string; balances: string }[] = await t.dataSource.query(`
      SELECT l.currency, sum(l.amount) FILTER (WHERE l.amount > 0)::text AS debits, (-sum(l.amount) FILTER (WHERE l.amount < 0))::text AS credits,
             (SELECT sum(balance) FROM ledger_accounts a WHERE a.currency = l.currency)::text AS balances
      FROM journal_lines l GROUP BY l.currency`);
    for (const row of totals) {
      expect({ currency: row.currency, debits: row.debits, balances: row.balances }).toEqual({ currency: row.currency, debits: row.credits, balances: '0' });
    }

    for (const affiliateId of affiliates) {
      const expected = currencies
        .map((currency) => ({ currency, ...model.affiliate(affiliateId, currency) }))
        .filter((b) => b.pending || b.available || b.paid || b.clawback)
        .sort((a, b) => (a.currency < b.currency ? -1 : 1));
      expect(await ledger.balances(null, affiliateId)).toEqual(expected);
      for (const b of expected) {
        expect([b.pending, b.available, b.clawback].every((x) => x >= 0)).toBe(true);
      }
    }
    for (const advertiserId of advertisers) {
      for (const currency of currencies) {
        expect(await ledger.accountBalance(null, { type: 'advertiser_receivable', ownerId: advertiserId, currency })).toBe(
          model.receivable.get(`${advertiserId}|${currency}`) ?? 0,
        );
      }
    }
    const after = await networkBalances(currencies);
    for (const currency of currencies) {
      expect(before[currency].margin - after[currency].margin).toBe(model.margin.get(currency) ?? 0);
      expect(after[currency].stripe - before[currency].stripe).toBe(model.stripe.get(currency) ?? 0);
    }
  }

  it('keeps every invariant and the model’s balances through random histories', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async ({ currencies, ops }) => {
        const affiliates = await Promise.all([0, 1, 2].map(() => principal('affiliate')));
        const advertisers = await Promise.all([0, 1].map(() => principal('advertiser')));
        const before = await networkBalances(currencies);
        const model = new Model();
        for (const o of ops) await apply(model, o, affiliates, advertisers, currencies);
        await expectLedgerMatches(model, affiliates, advertisers, currencies, before);
      }),
      // The database outlives each run, so a shrunk history would be judged on an already broken
      // ledger: report the first failing history as it was.
      { numRuns: 30, endOnFailure: true },
    );
  });

  it('nets a clawback off the next payout and pays only the difference', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 1_000_000 }), fc.integer({ min: 1, max: 1_000_000 }), async (first, second) => {
        const [affiliateId, advertiserId] = [await principal('affiliate'), await principal('advertiser')];
        const model = new Model();
        const ops: Op[] = [
          { t: 'commission', aff: 0, adv: 0, cur: 0, revenue: first, payout: first },
          { t: 'approve', pick: 0 },
          { t: 'payout', pick: 0 },
          { t: 'reverse', pick: 0 },
          { t: 'commission', aff: 0, adv: 0, cur: 0, revenue: second, payout: second },
          { t: 'approve', pick: 0 },
          { t: 'payout', pick: 0 },
        ];
        const before = await networkBalances(['USD']);
        for (const o of ops) await apply(model, o, [affiliateId], [advertiserId], ['USD']);
        await expectLedgerMatches(model, [affiliateId], [advertiserId], ['USD'], before);
        const [usd] = await ledger.balances(null, affiliateId);
        // Earned net of reversals = what is pending, available and paid, less what is owed back.
        expect(usd.pending + usd.available + usd.paid - usd.clawback).toBe(second);
        expect(usd.paid).toBe(second > first ? second : first);
        expect(usd.clawback).toBe(second > first ? 0 : first);
      }),
      { numRuns: 10, endOnFailure: true },
    );
  });
});
