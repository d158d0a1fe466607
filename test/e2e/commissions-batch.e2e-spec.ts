import { getQueueToken } from '@nestjs/bullmq';
import { Queue } from 'bullmq';
import { randomUUID } from 'node:crypto';
import { ConversionStatus } from '../../src/modules/conversions/conversion.entity';
import { ConversionsService } from '../../src/modules/conversions/conversions.service';
import { CommissionsService } from '../../src/modules/commissions/commissions.service';
import { LedgerService } from '../../src/modules/ledger/ledger.service';
import { QUEUES } from '../../src/queue/queues';
import { createTestApp, TestApp } from '../support/create-test-app';
import { drainQueues } from '../support/drain';
import { auth, createAdvertiser, createAffiliate, createOffer, OfferHandle, PrincipalHandle } from '../support/factories';
import { expectLedgerVerified } from '../support/ledger';

/**
 * postMissingMany against postMissing: two affiliates get the same conversions through the same
 * statuses; one is posted one conversion at a time, the other in batches. The commissions
 * queue is paused, so nothing posts but the test; at the end its jobs run and change nothing.
 */
describe('commissions posted in batches', () => {
  let t: TestApp;
  let advertiser: PrincipalHandle;
  let usd: OfferHandle;
  let eur: OfferHandle;
  let commissions: CommissionsService;
  let conversions: ConversionsService;
  let commissionsQueue: Queue;
  let n = 0;
  const system = { type: 'system' as const, id: null };

  async function convert(aff: PrincipalHandle, offer: OfferHandle, amount?: string): Promise<string> {
    const link = await t.http.post('/v1/links').set(auth(aff.apiKey)).send({ offerId: offer.id }).expect(201);
    const click = await t.http.get(`/c/${link.body.code}`).expect(302);
    const clickId = new URL(click.headers.location).searchParams.get('cid') as string;
    const res = await t.http
      .get('/postback')
      .query({ token: advertiser.postbackToken, click_id: clickId, goal: 'lead', txn_id: `B-${Date.now().toString(36)}-${++n}`, ...(amount ? { amount } : {}) });
    expect(res.status).toBe(201);
    return res.body.id;
  }

  /** Each conversion's entries, with the affiliate's id left out so two affiliates compare. */
  async function ledgerOf(ids: string[]) {
    const rows: { cause_id: string; kind: string; type: string; currency: string; amount: string }[] = await t.dataSource.query(
      `SELECT e.cause_id, e.kind, a.type, l.currency, l.amount::text AS amount
       FROM journal_entries e JOIN journal_lines l ON l.entry_id = e.id JOIN ledger_accounts a ON a.id = l.account_id
       WHERE e.cause_type = 'conversion' AND e.cause_id = ANY($1::text[])
       ORDER BY e.kind, a.type, l.currency, l.amount`,
      [ids],
    );
    return ids.map((id) => rows.filter((r) => r.cause_id === id).map(({ kind, type, currency, amount }) => `${kind} ${type} ${currency} ${amount}`));
  }

  beforeAll(async () => {
    t = await createTestApp({ workers: true });
    commissionsQueue = t.app.get<Queue>(getQueueToken(QUEUES.commissions));
    await commissionsQueue.pause();
    commissions = t.app.get(CommissionsService);
    conversions = t.app.get(ConversionsService);
    advertiser = await createAdvertiser(t);
    usd = await createOffer(t, advertiser);
    eur = await createOffer(t, advertiser, { currency: 'EUR' });
  });
  afterAll(async () => {
    await commissionsQueue.resume();
    await drainQueues(t);
    await expectLedgerVerified(t);
    await t.close();
  });
  afterEach(() => expectLedgerVerified(t));

  it('gives the same ledger as one-by-one postMissing, for a batch of mixed statuses, twice over', async () => {
    // The statuses each conversion goes through: before the first posting, then before the second.
    const plans: [ConversionStatus[], ConversionStatus[]][] = [
      [[], []],
      [[], ['approved']],
      [['approved'], []],
      [['approved'], ['paid']],
      [['approved', 'paid'], ['reversed']],
      [[], ['rejected']],
      [['approved'], ['reversed']],
      [['approved', 'paid'], []],
      [['rejected'], []],
      [[], ['approved', 'paid', 'reversed']],
    ];
    const [alone, batched] = await Promise.all([createAffiliate(t), createAffiliate(t)]);
    const make = async (aff: PrincipalHandle) => {
      const ids: string[] = [];
      for (const [i] of plans.entries()) ids.push(await convert(aff, i % 3 === 2 ? eur : usd));
      return ids;
    };
    const a = await make(alone);
    const b = await make(batched);
    const advance = async (ids: string[], phase: 0 | 1) => {
      for (const [i, plan] of plans.entries()) for (const to of plan[phase]) await conversions.transition(ids[i], to, system, 'test');
    };

    for (const phase of [0, 1] as const) {
      await advance(a, phase);
      await advance(b, phase);
      for (const id of a) await commissions.postMissing(id);
      // Unknown ids and repeats in a batch are harmless.
      await commissions.postMissingMany([...b].reverse().concat(b[0], randomUUID()));
      expect(await ledgerOf(b)).toEqual(await ledgerOf(a));
    }
    const lines = (await ledgerOf(a)).flat();
    for (const kind of ['reversal affiliate_clawback', 'reversal affiliate_available', 'reversal affiliate_pending', 'approval affiliate_available']) {
      expect(lines.some((l) => l.startsWith(kind))).toBe(true);
    }
    const ledger = t.app.get(LedgerService);
    const balances = async (aff: PrincipalHandle) => ledger.balances(null, aff.id);
    expect(await balances(batched)).toEqual(await balances(alone));
    expect((await balances(alone)).length).toBe(2);

    // Once more changes nothing.
    const entries = async () => Number((await t.dataSource.query(`SELECT count(*) FROM journal_entries`))[0].count);
    const before = await entries();
    await commissions.postMissingMany(b);
    expect(await entries()).toBe(before);
  });

  it('runs concurrent overlapping batches without deadlock, posting each entry once', async () => {
    const aff = await createAffiliate(t);
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) ids.push(await convert(aff, i % 2 ? eur : usd));
    for (const id of ids.slice(0, 6)) await conversions.transition(id, 'approved', system, 'test');
    const slices = [ids.slice(0, 8), ids.slice(4), [...ids].reverse(), ids.filter((_, i) => i % 2)];
    await Promise.all(slices.map((s) => commissions.postMissingMany(s)));
    const kinds: { kind: string; n: number }[] = await t.dataSource.query(
      `SELECT kind, count(*)::int AS n FROM journal_entries WHERE cause_id = ANY($1::text[]) GROUP BY kind ORDER BY kind`,
      [ids],
    );
    expect(kinds).toEqual([
      { kind: 'approval', n: 6 },
      { kind: 'commission', n: 12 },
    ]);
  });
});
