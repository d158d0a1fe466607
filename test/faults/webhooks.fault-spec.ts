import { randomBytes } from 'node:crypto';
import Stripe from 'stripe';
import { auth } from '../support/factories';
import { expectLedgerVerified } from '../support/ledger';
import { WEBHOOK_SECRET } from './support/emulator';
import { addFigure } from './support/figures';
import { StripeNetwork, stripeNetwork } from './support/in-process';

/** Signs `event` the way Stripe does (or with another secret / time, to be refused). */
function signed(event: Record<string, unknown>, options: { secret?: string; timestamp?: number } = {}) {
  const payload = JSON.stringify(event);
  const header = Stripe.webhooks.generateTestHeaderString({ payload, secret: options.secret ?? WEBHOOK_SECRET, timestamp: options.timestamp ?? Math.floor(Date.now() / 1000) });
  return { payload, header };
}

describe('Stripe webhooks: duplicates, disorder, forgeries', () => {
  let n: StripeNetwork;

  beforeAll(async () => {
    n = await stripeNetwork();
  });
  afterAll(() => n.close());
  afterEach(async () => {
    await n.settle();
    await expectLedgerVerified(n.t);
  });

  const deliver = (payload: string, header?: string) => {
    const req = n.t.http.post('/webhooks/stripe').set('content-type', 'application/json');
    return (header ? req.set('stripe-signature', header) : req).send(payload);
  };
  const payoutsEnabled = async (affiliateId: string) =>
    (await n.t.dataSource.query(`SELECT payouts_enabled FROM payout_accounts WHERE affiliate_id = $1`, [affiliateId]))[0].payouts_enabled;

  it('applies a transfer.reversed delivered ten times at once exactly once', async () => {
    const a = await n.payableAffiliate();
    await n.settle();
    await n.earn(a, 4);
    await n.settle();
    await n.requestRun();
    await n.settle();
    const [transfer] = n.transfersTo(a.accountId);
    n.stripe.reverseTransfer(transfer.id);
    await n.settle();
    const event = n.stripe
      .events()
      .filter((e) => e.type === 'transfer.reversed')
      .at(-1)!;
    const replays = await Promise.all(Array.from({ length: 10 }, () => n.stripe.redeliver(event.id)));
    expect(replays.map((r) => r?.status)).toEqual(Array(10).fill(200));
    await n.settle();
    addFigure('webhook duplicates delivered', 10);
    const [{ n: entries }] = await n.t.dataSource.query(
      `SELECT count(*)::int AS n FROM journal_entries WHERE kind = 'payout_reversal' AND cause_id = (SELECT id::text FROM payouts WHERE stripe_transfer_id = $1)`,
      [transfer.id],
    );
    expect(entries).toBe(1);
    const earnings = await n.t.http.get('/v1/earnings').set(auth(a.apiKey)).expect(200);
    expect(earnings.body.balances[0]).toMatchObject({ available: 1200, paid: 0 });
  });

  it('never lets an older account.updated undo a newer one, even within the same second', async () => {
    const a = await n.payableAffiliate();
    await n.settle();
    expect(await payoutsEnabled(a.id)).toBe(true);
    const current = n.stripe.accounts().find((acc) => acc.id === a.accountId)!;
    const newest = n.stripe
      .events()
      .filter((e) => e.type === 'account.updated' && (e.data.object as { id: string }).id === a.accountId)
      .at(-1)!;
    // The same account as Stripe saw it before onboarding, in events older than, or as old as, the applied one.
    const stale = (created: number) => ({
      ...newest,
      id: `evt_${randomBytes(12).toString('hex')}`,
      created,
      data: { object: { ...current, payouts_enabled: false, details_submitted: false } },
    });
    for (const created of [newest.created - 3600, newest.created - 1, newest.created]) {
      const { payload, header } = signed(stale(created));
      await deliver(payload, header).expect(200);
      await n.settle();
      addFigure('webhooks delivered out of order', 1);
      expect({ created, enabled: await payoutsEnabled(a.id) }).toEqual({ created, enabled: true });
    }
  });

  it('refuses forged, tampered, stale and unsigned events with 400, storing nothing', async () => {
    const a = await n.payableAffiliate();
    await n.settle();
    const before = await n.t.dataSource.query(`SELECT count(*)::int AS n FROM stripe_events`);
    const event = {
      id: `evt_${randomBytes(12).toString('hex')}`,
      object: 'event',
      type: 'account.updated',
      created: Math.floor(Date.now() / 1000) + 60,
      data: { object: { id: a.accountId, object: 'account', payouts_enabled: false } },
    };
    const good = signed(event);
    const forgeries: [string, string | undefined][] = [
      ['another secret', signed(event, { secret: 'whsec_not_the_one_0123456789' }).header],
      ['tampered body', good.header],
      ['ten minutes old', signed(event, { timestamp: Math.floor(Date.now() / 1000) - 600 }).header],
      ['no header', undefined],
      ['garbage header', 'v1=zz,t=now'],
      ['an empty v1', `t=${Math.floor(Date.now() / 1000)},v1=`],
    ];
    for (const [name, header] of forgeries) {
      const payload = name === 'tampered body' ? good.payload.replace('"payouts_enabled":false', '"payouts_enabled":true ') : good.payload;
      const res = await deliver(payload, header);
      expect({ name, status: res.status, code: res.body.error?.code }).toEqual({ name, status: 400, code: 'invalid_signature' });
    }
    addFigure('forged webhooks refused', forgeries.length);
    expect(await n.t.dataSource.query(`SELECT count(*)::int AS n FROM stripe_events`)).toEqual(before);
    expect(await payoutsEnabled(a.id)).toBe(true);
  });
});
