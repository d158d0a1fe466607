import fc from 'fast-check';
import { COMMISSION_CHECKS } from '../../src/modules/commissions/commission.checks';
import { formatVerification, verifyLedger } from '../../src/modules/ledger/ledger.verify';
import { auth, createOffer, OfferHandle, PrincipalHandle } from '../support/factories';
import { SEED } from './support/env';
import { addFigure } from './support/figures';
import { StripeNetwork, stripeNetwork } from './support/in-process';

/**
 * The ledger as a model, TigerBeetle style, one level above test/e2e/ledger-properties (which
 * posts entries straight through LedgerService): here random sequences of business events go
 * through the real services — postbacks, approvals and reversals over HTTP, commission jobs,
 * payout runs against the Stripe emulator, transfers reversed by webhook — and after every step
 * each affiliate's balances must equal a model that knows only what the events mean, and every
 * ledger invariant must hold.
 */
const PAYOUT = 300;
const THRESHOLD = 1000;

interface Conv {
  id: string;
  aff: number;
  status: 'pending' | 'approved' | 'paid' | 'reversed';
  payoutId?: string;
}
interface Balance {
  pending: number;
  available: number;
  paid: number;
  clawback: number;
}
interface Model {
  convs: Conv[];
  balances: Balance[];
  payouts: { id: string; aff: number; amount: number; netted: number; transferId: string; convs: Conv[]; reversed: boolean }[];
}

describe('the ledger against a model, through the real services', () => {
  let n: StripeNetwork;
  let offer: OfferHandle;
  let steps = 0;

  beforeAll(async () => {
    n = await stripeNetwork();
    offer = await createOffer(n.t, n.advertiser, { lockPeriodDays: 30 });
  });
  afterAll(() => n.close());

  type Real = { affiliates: (PrincipalHandle & { accountId: string })[] };
  type Cmd = fc.AsyncCommand<Model, Real>;

  const check = async (model: Model, real: Real) => {
    steps++;
    await n.settle();
    for (const [i, a] of real.affiliates.entries()) {
      const res = await n.t.http.get('/v1/earnings').set(auth(a.apiKey)).expect(200);
      const usd = res.body.balances.find((b: { currency: string }) => b.currency === 'USD') ?? { pending: 0, available: 0, paid: 0, clawback: 0 };
      expect({ affiliate: i, pending: usd.pending, available: usd.available, paid: usd.paid, clawback: usd.clawback }).toEqual({ affiliate: i, ...model.balances[i] });
      expect(Math.min(usd.pending, usd.available, usd.clawback, usd.paid)).toBeGreaterThanOrEqual(0);
    }
    const verified = await verifyLedger(n.t.dataSource, COMMISSION_CHECKS);
    if (!verified.ok) throw new Error(formatVerification(verified).join('\n'));
  };

  const convert = (aff: number): Cmd => ({
    check: () => true,
    async run(model, real) {
      const link = await n.t.http.post('/v1/links').set(auth(real.affiliates[aff].apiKey)).send({ offerId: offer.id }).expect(201);
      const clickId = (await import('../../src/modules/tracking/click-id.service')).ClickIdService;
      const id = n.t.app.get(clickId).issue(link.body.id, new Date(Date.now() - 60_000));
      const res = await n.t.http
        .get('/postback')
        .query({ token: n.advertiser.postbackToken, click_id: id, goal: 'lead', txn_id: `M-${Date.now()}-${Math.random()}` })
        .expect(201);
      model.convs.push({ id: res.body.id, aff, status: 'pending' });
      model.balances[aff].pending += PAYOUT;
      await check(model, real);
    },
    toString: () => `convert(${aff})`,
  });

  const move = (to: 'approve' | 'reverse', pick: number): Cmd => ({
    check: (model) => model.convs.some((c) => (to === 'approve' ? c.status === 'pending' : c.status !== 'reversed')),
    async run(model, real) {
      const candidates = model.convs.filter((c) => (to === 'approve' ? c.status === 'pending' : c.status !== 'reversed'));
      const c = candidates[pick % candidates.length];
      await n.t.http.post(`/v1/conversions/${c.id}/${to}`).set(auth(n.advertiser.apiKey)).send({}).expect(200);
      const b = model.balances[c.aff];
      if (to === 'approve') {
        b.pending -= PAYOUT;
        b.available += PAYOUT;
        c.status = 'approved';
      } else {
        if (c.status === 'pending') b.pending -= PAYOUT;
        if (c.status === 'approved') b.available -= PAYOUT;
        if (c.status === 'paid') b.clawback += PAYOUT;
        c.status = 'reversed';
      }
      await check(model, real);
    },
    toString: () => `${to}(${pick})`,
  });

  const payoutRun: Cmd = {
    check: () => true,
    async run(model, real) {
      const runId = await n.requestRun();
      await n.settle();
      const paid = await n.t.dataSource.query(
        `SELECT id, affiliate_id, amount::int, clawback_netted::int AS netted, stripe_transfer_id FROM payouts WHERE run_id = $1 AND status = 'paid'`,
        [runId],
      );
      for (const [i, b] of model.balances.entries()) {
        const due = b.available - b.clawback;
        const p = paid.find((x: { affiliate_id: string }) => x.affiliate_id === real.affiliates[i].id);
        expect({ affiliate: i, paid: p?.amount ?? 0 }).toEqual({ affiliate: i, paid: due >= THRESHOLD ? due : 0 });
        if (!p) continue;
        const convs = model.convs.filter((c) => c.aff === i && c.status === 'approved');
        convs.forEach((c) => (c.status = 'paid'));
        model.payouts.push({ id: p.id, aff: i, amount: p.amount, netted: p.netted, transferId: p.stripe_transfer_id, convs, reversed: false });
        b.paid += p.amount;
        b.available = 0;
        b.clawback = 0;
      }
      await check(model, real);
    },
    toString: () => 'payoutRun',
  };

  const reverseTransfer = (pick: number): Cmd => ({
    check: (model) => model.payouts.some((p) => !p.reversed),
    async run(model, real) {
      const open = model.payouts.filter((p) => !p.reversed);
      const p = open[pick % open.length];
      n.stripe.reverseTransfer(p.transferId);
      p.reversed = true;
      const b = model.balances[p.aff];
      b.paid -= p.amount;
      b.available += p.amount + p.netted;
      b.clawback += p.netted;
      p.convs.filter((c) => c.status === 'paid').forEach((c) => (c.status = 'approved'));
      await check(model, real);
    },
    toString: () => `reverseTransfer(${pick})`,
  });

  it('keeps balances equal to the model and every invariant true after each step', async () => {
    const commands = [
      fc.nat(2).map(convert),
      fc.nat().map((p) => move('approve', p)),
      fc.nat().map((p) => move('reverse', p)),
      fc.constant(payoutRun),
      fc.nat().map(reverseTransfer),
    ];
    await fc.assert(
      fc.asyncProperty(fc.commands(commands, { maxCommands: 30, size: 'large' }), async (cmds) => {
        const affiliates = await Promise.all([0, 1, 2].map(() => n.payableAffiliate()));
        await n.settle();
        const model: Model = { convs: [], balances: affiliates.map(() => ({ pending: 0, available: 0, paid: 0, clawback: 0 })), payouts: [] };
        await fc.asyncModelRun(() => ({ model, real: { affiliates } }), cmds);
      }),
      // The database outlives each run: report the first failing history as it was, unshrunk.
      { numRuns: 20, seed: SEED, endOnFailure: true },
    );
    addFigure('ledger model steps checked', steps);
  }, 600_000);

  it('leaves the journal untouchable from the application’s own connection', async () => {
    const before = await n.t.dataSource.query(`SELECT count(*)::int AS n, coalesce(sum(abs(amount)), 0)::text AS total FROM journal_lines`);
    for (const sql of [
      `UPDATE journal_lines SET amount = amount * 2`,
      `DELETE FROM journal_lines WHERE kind = 'commission'`,
      `UPDATE journal_entries SET kind = 'adjustment'`,
      `TRUNCATE journal_lines`,
    ]) {
      await expect(n.t.dataSource.transaction((m) => m.query(sql))).rejects.toThrow(/append-only/);
    }
    expect(await n.t.dataSource.query(`SELECT count(*)::int AS n, coalesce(sum(abs(amount)), 0)::text AS total FROM journal_lines`)).toEqual(before);
  });
});
