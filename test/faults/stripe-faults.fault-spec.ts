import { StripeClient } from '../../src/integrations/stripe/stripe.client';
import { PayoutRails } from '../../src/modules/payouts/rails/payout-rails';
import { formatReconciliation, ReconciliationService } from '../../src/modules/reconciliation/reconciliation.service';
import type { FaultKind } from '../support/stripe-emulator/emulator';
import { queue } from '../support/drain';
import { expectLedgerVerified } from '../support/ledger';
import { QUEUES } from '../../src/queue/queues';
import { waitFor } from './support/env';
import { addFigure } from './support/figures';
import { StripeNetwork, stripeNetwork } from './support/in-process';

/**
 * Lost answers and expired keys. The SDK's own retries are off here (STRIPE_MAX_NETWORK_RETRIES=0),
 * so every fault reaches the payout job, which BullMQ retries later: the case where Stripe's
 * 24-hour idempotency key may be gone by then, and only the transfer_group look-up stands
 * between a retry and a second transfer.
 */
describe('lost answers and expired idempotency keys', () => {
  let n: StripeNetwork;

  beforeAll(async () => {
    n = await stripeNetwork({ STRIPE_MAX_NETWORK_RETRIES: '0', STRIPE_TIMEOUT_MS: '500' });
  });
  afterAll(() => n.close());
  afterEach(async () => {
    n.stripe.clearFaults();
    await n.settle();
    await expectLedgerVerified(n.t);
    const reconciliation = await new ReconciliationService(n.t.dataSource, n.t.app.get(StripeClient), n.t.app.get(PayoutRails)).reconcile();
    expect(formatReconciliation(reconciliation)).toEqual([expect.stringMatching(/no difference/)]);
  });

  async function faultedRun(kinds: FaultKind[], affiliates: number, forgetKeys: boolean) {
    const payees = await Promise.all(Array.from({ length: affiliates }, () => n.payableAffiliate()));
    await n.settle();
    for (const a of payees) await n.earn(a, 4);
    await n.settle();
    for (const kind of kinds) n.stripe.injectFault({ method: 'POST', path: '/v1/transfers', kind, times: 1 });
    const runId = await n.requestRun();
    // Once every fault has struck and the job's attempt that met them is over (paid, or waiting
    // for BullMQ's retry), Stripe "forgets" the keys: the job's retries come after 24 h. Not
    // sooner: stripe-node re-sends a reset request at once with the same key, as Stripe expects.
    await waitFor('every fault to strike', () => n.stripe.faults().length === 0, 30_000);
    await waitFor('the attempt that met them to end', async () => (await queue(n.t, QUEUES.payouts).getJobCounts('active')).active === 0, 30_000);
    if (forgetKeys) n.stripe.forgetIdempotencyKeys();
    await n.settle();
    const run = await n.t.dataSource.query(`SELECT status, done_count, failed_count FROM payout_runs WHERE id = $1`, [runId]);
    expect(run).toEqual([{ status: 'completed', done_count: affiliates, failed_count: 0 }]);
    const counts = payees.map((a) => n.transfersTo(a.accountId).length);
    addFigure('Stripe faults injected', kinds.length);
    addFigure('transfers doubled after Stripe faults', counts.filter((c) => c > 1).length);
    addFigure('transfers missing after Stripe faults', counts.filter((c) => c === 0).length);
    expect(counts).toEqual(payees.map(() => 1));
    const attempts = await n.t.dataSource.query(`SELECT max(attempts)::int AS max FROM payouts WHERE run_id = $1`, [runId]);
    return { runId, maxAttempts: attempts[0].max as number };
  }

  it('finds by transfer_group a transfer whose answer was lost, after Stripe forgot the key', async () => {
    // Two resets: stripe-node's own immediate re-send (same key, replayed) is lost too, so the job fails and comes back later.
    const { maxAttempts } = await faultedRun(['reset_after_commit', 'reset_after_commit'], 1, true);
    expect(maxAttempts).toBeGreaterThan(1); // the job really came back for it
    const retries = n.stripe.requestLog().filter((r) => r.method === 'GET' && r.path === '/v1/transfers');
    expect(retries.length).toBeGreaterThan(0);
  });

  it('creates the transfer once when Stripe timed out without doing it, key forgotten or not', async () => {
    await faultedRun(['timeout'], 1, true);
    await faultedRun(['timeout'], 1, false);
  });

  it('pays each of several affiliates once through 500s, lost answers, 429s and timeouts, keys forgotten', async () => {
    await faultedRun(['error500', 'reset_after_commit', 'rate_limit', 'timeout', 'reset_after_commit', 'lock_timeout', 'error500'], 5, true);
  });
});
