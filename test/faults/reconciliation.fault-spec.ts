import { join } from 'node:path';
import { auth } from '../support/factories';
import { STRIPE_KEY } from './support/emulator';
import { DIST } from './support/env';
import { addFigure } from './support/figures';
import { StripeNetwork, stripeNetwork } from './support/in-process';
import { Proc } from './support/processes';

/** `npm run reconcile` (dist/src/reconcile.js) against the test's database and emulator: its exit code and report. */
async function reconcile(n: StripeNetwork): Promise<{ code: number | null; lines: string[] }> {
  const proc = new Proc('reconcile', process.execPath, [join(DIST, 'src/reconcile.js')], {
    PATH: process.env.PATH ?? '',
    DATABASE_URL: n.t.env.DATABASE_URL,
    STRIPE_SECRET_KEY: STRIPE_KEY,
    STRIPE_API_URL: n.stripe.url,
  });
  const { code } = await proc.exited;
  return { code, lines: proc.lines.filter(Boolean) };
}

describe('npm run reconcile', () => {
  let n: StripeNetwork;

  beforeAll(async () => {
    n = await stripeNetwork();
  });
  afterAll(() => n.close());

  it('agrees with Stripe after payouts and billing, then lists every planted difference, and only those', async () => {
    const payees = await Promise.all(Array.from({ length: 4 }, () => n.payableAffiliate()));
    await n.settle();
    for (const a of payees) await n.earn(a, 4);
    await n.settle();
    await n.requestRun();
    await n.settle();
    const from = new Date(Date.now() - 3600_000).toISOString();
    const to = new Date(Date.now() + 3600_000).toISOString();
    await n.t.http.post('/v1/invoice-runs').set(auth(n.finance.apiKey)).send({ from, to }).expect(202);
    await n.settle();
    const [invoice] = await n.t.dataSource.query(`SELECT id, stripe_invoice_id FROM invoices WHERE status = 'open'`);
    expect(invoice).toBeDefined();

    const clean = await reconcile(n);
    expect(clean).toMatchObject({ code: 0, lines: [expect.stringMatching(/^reconciled: \d+ Stripe transfers, 4 payouts, 1 Stripe invoices, no difference$/)] });

    const [paidA, paidB, paidC] = await n.t.dataSource.query(`SELECT id, stripe_transfer_id, stripe_account_id FROM payouts WHERE status = 'paid' ORDER BY id`);
    // Stripe's side changes while the webhooks are lost.
    n.stripe.setWebhookUrl(undefined);
    const api = (n.stripe as unknown as { store: { createTransfer(input: Record<string, unknown>): { id: string } } }).store;
    const stray = api.createTransfer({ amount: 777, currency: 'usd', destination: paidA.stripe_account_id });
    const twice = api.createTransfer({
      amount: 1200,
      currency: 'usd',
      destination: paidB.stripe_account_id,
      transfer_group: `payout_${paidB.id}`,
      metadata: { payout_id: paidB.id },
    });
    n.stripe.reverseTransfer(paidC.stripe_transfer_id);
    n.stripe.payInvoice(invoice.stripe_invoice_id);
    // And ours: a payout that claims a transfer Stripe never made.
    const [, , , paidD] = await n.t.dataSource.query(`SELECT id FROM payouts WHERE status = 'paid' ORDER BY id`);
    await n.t.dataSource.query(`UPDATE payouts SET stripe_transfer_id = 'tr_never_made' WHERE id = $1`, [paidD.id]);
    // And an invoice that bills more than its conversions (so more than Stripe was asked for, too).
    await n.t.dataSource.query(`UPDATE invoices SET amount = amount + 1 WHERE id = $1`, [invoice.id]);
    const planted = [
      ['unknown_transfer', stray.id],
      ['duplicate_transfer', `payout ${paidB.id}`],
      ['reversed_transfer_still_paid', `payout ${paidC.id}`],
      ['paid_invoice_not_settled', `invoice ${invoice.id}`],
      ['missing_transfer', `payout ${paidD.id}`],
      ['invoice_conversions_mismatch', `invoice ${invoice.id}`],
      ['invoice_mismatch', `invoice ${invoice.id}`],
    ];

    const found = await reconcile(n);
    expect(found.code).toBe(1);
    const reported = found.lines.filter((l) => l.startsWith('✗')).map((l) => /^✗ (\w+) (payout \S+|invoice \S+|\S+):/.exec(l)?.slice(1, 3));
    expect(reported.sort()).toEqual(planted.sort());
    expect(found.lines.at(-1)).toMatch(/^reconciliation FAILED: 7 difference\(s\)/);
    expect(twice.id).toMatch(/^tr_/);
    addFigure('reconciliation differences planted', planted.length);
    addFigure('reconciliation differences found', reported.length);
  });
});
