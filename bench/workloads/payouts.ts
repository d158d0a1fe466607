import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { TRANSFER_CONCURRENCY } from '../../src/modules/payouts/payout-limits'; // the payout job's own
import { cpuMeter, perUnit, postgresFor } from '../lib/cpu';
import { transaction } from '../lib/db';
import { Api, mapLimit, retry } from '../lib/http';
import { profiled } from '../lib/profiling';
import { freePort, startNode, waitFor, waitForHttp } from '../lib/proc';
import { round } from '../lib/results';
import { STRIPE_KEY, Stack } from '../lib/stack';
import { clickIdFrom, createLink, createPrincipal, Network, offerBody } from './seed';

const PAYOUT = 1500;
/** The payout run's target: at least half the speed of bare transfers at the job's own concurrency (issue 19). */
const TARGET_RATIO = 0.5;
/** The platform endpoint's events in docs/operations.md, plus the Connect endpoint's (one endpoint in the bench). */
const WEBHOOK_EVENTS = ['transfer.reversed', 'invoice.paid', 'invoice.voided', 'invoice.marked_uncollectible', 'account.updated'];
const run = promisify(execFile);

export interface PayoutData {
  affiliates: number;
  /** Of which seeded through the HTTP API end to end; the rest in bulk (see preparePayouts). */
  throughApi: number;
  offerId: string;
}

const form = (o: Record<string, string | number>) => new URLSearchParams(Object.fromEntries(Object.entries(o).map(([k, v]) => [k, String(v)]))).toString();

/**
 * Payees with the same history as the ones seeded through the API, written in one transaction
 * per chunk: the affiliate, its payout destination (onboarded: the connected account exists in the
 * emulator and can receive transfers), one approved lead, and the ledger entries the commission
 * job posts for it (commission: Dr receivable 2 000, Cr pending 1 500, Cr margin 500; approval:
 * Dr pending 1 500, Cr available 1 500) with the cached balances. INSERT only; the deferred
 * balance triggers run before the balances move.
 */
const BULK_SQL = {
  principals: `INSERT INTO principals (id, role, name, email, status)
     SELECT id, 'affiliate', 'Payee ' || n, 'payee-' || n || '-' || $3 || '@bench.example', 'active' FROM unnest($1::uuid[], $2::int[]) AS t(id, n)`,
  payoutAccounts: `INSERT INTO payout_accounts (affiliate_id, stripe_account_id, payouts_enabled, details_submitted, last_event_at)
     SELECT id, account, true, true, now() FROM unnest($1::uuid[], $2::text[]) AS t(id, account)`,
  accounts: `INSERT INTO ledger_accounts (type, owner_id, currency)
     SELECT type, id, 'USD' FROM unnest($1::uuid[]) AS t(id) CROSS JOIN (VALUES ('affiliate_pending'), ('affiliate_available')) AS k(type)
     UNION ALL SELECT 'advertiser_receivable', $2::uuid, 'USD' UNION ALL SELECT 'network_margin', NULL, 'USD'
     ON CONFLICT (type, (COALESCE(owner_id, '00000000-0000-0000-0000-000000000000'::uuid)), currency) DO NOTHING`,
  history: `
    WITH g AS MATERIALIZED (
      SELECT t.id AS affiliate_id, t.n, gen_random_uuid() AS conversion_id, gen_random_uuid() AS commission_id, gen_random_uuid() AS approval_id,
             pend.id AS pending, avail.id AS available, date_trunc('milliseconds', now()) AS at
        FROM unnest($1::uuid[], $2::int[]) AS t(id, n)
        JOIN ledger_accounts pend ON pend.owner_id = t.id AND pend.type = 'affiliate_pending' AND pend.currency = 'USD'
        JOIN ledger_accounts avail ON avail.owner_id = t.id AND avail.type = 'affiliate_available' AND avail.currency = 'USD'
    ), conversions_ AS (
      INSERT INTO conversions (id, advertiser_id, offer_id, goal_id, goal_key, affiliate_id, txn_id, currency, revenue, payout,
                               revenue_rule, payout_rule, status, source, approved_at)
      SELECT conversion_id, $3, $4, $5, 'lead', affiliate_id, 'payee-' || n, 'USD', 2000, ${PAYOUT},
             '{"type":"flat","amount":2000}', '{"type":"flat","amount":${PAYOUT}}', 'approved', 'postback', at FROM g
    ), events AS (
      INSERT INTO conversion_events (conversion_id, from_status, to_status, actor_type, actor_id)
      SELECT conversion_id, NULL, 'approved', 'postback', $3 FROM g
    ), entries AS (
      INSERT INTO journal_entries (id, kind, cause_type, cause_id, memo, effective_at)
      SELECT commission_id, 'commission', 'conversion', conversion_id::text, 'lead payee-' || n, at FROM g
      UNION ALL SELECT approval_id, 'approval', 'conversion', conversion_id::text, 'lead payee-' || n, at FROM g
    )
    INSERT INTO journal_lines (entry_id, kind, effective_at, account_id, currency, amount)
    SELECT commission_id, 'commission', at, $6::uuid, 'USD', 2000 FROM g
    UNION ALL SELECT commission_id, 'commission', at, pending, 'USD', -${PAYOUT} FROM g
    UNION ALL SELECT commission_id, 'commission', at, $7::uuid, 'USD', -500 FROM g
    UNION ALL SELECT approval_id, 'approval', at, pending, 'USD', ${PAYOUT} FROM g
    UNION ALL SELECT approval_id, 'approval', at, available, 'USD', -${PAYOUT} FROM g`,
  balances: `UPDATE ledger_accounts SET balance = balance + CASE
       WHEN id = $2 THEN 2000 * $4::bigint WHEN id = $3 THEN -500 * $4::bigint ELSE -${PAYOUT} END
     WHERE id = $2 OR id = $3 OR (type = 'affiliate_available' AND currency = 'USD' AND owner_id = ANY($1::uuid[]))`,
};

/** Connected accounts in the emulator, onboarded (it accepts transfers to them), through its Stripe API. */
async function connectedAccounts(stack: Stack, ids: string[]): Promise<string[]> {
  const call = async (path: string, body: string) => {
    const res = await fetch(stack.stripeUrl + path, {
      method: 'POST',
      headers: { authorization: `Bearer ${STRIPE_KEY}`, 'content-type': 'application/x-www-form-urlencoded' },
      body,
    });
    const json = (await res.json()) as { id: string };
    if (res.status !== 200) throw new Error(`emulator ${path}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  };
  return mapLimit(ids, 16, async (id) => {
    const account = await call('/v1/accounts', form({ type: 'express', email: `${id}@bench.example`, 'metadata[affiliate_id]': id, 'capabilities[transfers][requested]': 'true' }));
    await call(`/__emulator/accounts/${account.id}/complete-onboarding`, '{}');
    return account.id;
  });
}

/**
 * Payees, each due one payout of 1 500 minor units (10 000 in a full run, 20 in a quick one).
 * The first hundred go the whole way through the HTTP API as people would: created by the
 * admin, a link, a click, Stripe onboarding through POST /v1/payout-accounts completed in the
 * emulator (its account.updated webhook enables payouts), one lead through the postback
 * (lock period 0: approved at once) posted by the worker. At 2 to 25 payees a second on this
 * machine, 10 000 that way would take from seven minutes to over an hour, so the
 * rest are written in bulk with the same rows (BULK_SQL), and a check below proves every payee
 * looks alike before the run. The measured payout run treats them all the same way.
 */
export async function preparePayouts(stack: Stack, network: Network): Promise<PayoutData> {
  const affiliates = Number(process.env.BENCH_PAYOUT_AFFILIATES) || (stack.options.quick ? 20 : 10_000);
  const throughApi = Math.min(affiliates, Number(process.env.BENCH_PAYOUT_AFFILIATES_API) || (stack.options.quick ? 10 : 100));
  const offer = await network.advertiserApi.post<{ id: string }>(
    '/v1/offers',
    offerBody({ lockPeriodDays: 0, goals: [{ key: 'lead', revenue: { type: 'flat', amount: 2000 }, payout: { type: 'flat', amount: PAYOUT } }] }),
    [201],
  );
  const stripe = new Api(stack.stripeUrl);
  const postback = new Api(stack.baseUrl);
  const token = encodeURIComponent(network.advertiser.postbackToken as string);
  const started = Date.now();
  const spent: Record<string, number> = {};
  const timed = async <T>(step: string, fn: () => Promise<T>): Promise<T> => {
    const t = Date.now();
    try {
      return await retry(fn);
    } finally {
      spent[step] = (spent[step] ?? 0) + Date.now() - t;
    }
  };
  await mapLimit(
    Array.from({ length: throughApi }, (_, i) => i),
    32,
    async (i) => {
      const affiliate = await timed('affiliate', () => createPrincipal(stack, 'affiliates', `Payee ${i}`));
      const api = stack.admin.as(affiliate.apiKey);
      const link = await timed('link', () => createLink(stack, affiliate, offer.id));
      const clickId = await timed('click', () => clickIdFrom(stack, link.code));
      const account = await timed('payout-account', () => api.post<{ accountId: string }>('/v1/payout-accounts', {}, [201]));
      await timed('onboarding', () => stripe.post(`/__emulator/accounts/${account.accountId}/complete-onboarding`, {}, [200]));
      await timed('postback', () => postback.get(`/postback?token=${token}&click_id=${clickId}&goal=lead&txn_id=payee-${i}`, [200, 201]));
    },
    (done) => {
      if (done % 50 === 0 || done === throughApi) {
        const each = Object.entries(spent)
          .map(([k, v]) => `${k} ${Math.round(v / done)}`)
          .join(', ');
        stack.progress.update(`payouts: ${done}/${throughApi} payees through the API, ${Math.round(done / ((Date.now() - started) / 1000))}/s (ms each: ${each})`);
      }
    },
  );

  stack.progress.log(`  payouts: ${throughApi} payees through the API in ${Math.round((Date.now() - started) / 1000)} s`);
  const bulk = affiliates - throughApi;
  if (bulk > 0) {
    const bulkStarted = Date.now();
    const ids = Array.from({ length: bulk }, () => randomUUID());
    const numbers = ids.map((_, i) => throughApi + i);
    stack.progress.update(`payouts: ${bulk} connected accounts in the emulator`);
    // Their rows are written below as onboarded: no account.updated webhooks for these.
    await stripe.post('/__emulator/webhook-url', {}, [200]);
    const accounts = await connectedAccounts(stack, ids).finally(() => stripe.post('/__emulator/webhook-url', { url: `${stack.baseUrl}/webhooks/stripe` }, [200]));
    stack.progress.log(`  payouts: ${bulk} connected accounts onboarded in the emulator in ${Math.round((Date.now() - bulkStarted) / 1000)} s`);
    const [{ id: goalId }] = (await stack.db.query(`SELECT id FROM offer_goals WHERE offer_id = $1 AND key = 'lead'`, [offer.id])).rows;
    const CHUNK = 2000;
    for (let at = 0; at < bulk; at += CHUNK) {
      const chunk = ids.slice(at, at + CHUNK);
      await transaction(stack.db, async (client) => {
        await client.query(BULK_SQL.principals, [chunk, numbers.slice(at, at + CHUNK), stack.paths.id]);
        await client.query(BULK_SQL.payoutAccounts, [chunk, accounts.slice(at, at + CHUNK)]);
        await client.query(BULK_SQL.accounts, [chunk, network.advertiser.id]);
        const account = async (type: string, owner: string | null) =>
          (await client.query(`SELECT id FROM ledger_accounts WHERE type = $1 AND owner_id IS NOT DISTINCT FROM $2::uuid AND currency = 'USD'`, [type, owner])).rows[0]
            .id as string;
        const receivable = await account('advertiser_receivable', network.advertiser.id);
        const margin = await account('network_margin', null);
        await client.query(BULK_SQL.history, [chunk, numbers.slice(at, at + CHUNK), network.advertiser.id, offer.id, goalId, receivable, margin]);
        await client.query('SET CONSTRAINTS ALL IMMEDIATE');
        await client.query(BULK_SQL.balances, [chunk, receivable, margin, chunk.length]);
      });
      stack.progress.update(`payouts: ${Math.min(at + CHUNK, bulk)}/${bulk} payees written in bulk`);
    }
    await stack.db.query('ANALYZE principals, payout_accounts, conversions, conversion_events, journal_entries, journal_lines, ledger_accounts');
    stack.progress.log(`  payouts: ${bulk} payees written in bulk in ${Math.round((Date.now() - bulkStarted) / 1000)} s (accounts included)`);
  }

  // Onboarding is applied from webhooks and the earnings by the worker: wait for both, then
  // check that every payee, however seeded, has the same history.
  await waitFor(
    'payouts enabled and leads approved for every payee',
    async () => {
      const [{ enabled, approved }] = (
        await stack.db.query(
          `SELECT (SELECT count(*)::int FROM payout_accounts pa JOIN conversions c ON c.affiliate_id = pa.affiliate_id AND c.offer_id = $1 WHERE pa.payouts_enabled) AS enabled,
                  (SELECT count(*)::int FROM conversions c WHERE c.offer_id = $1 AND EXISTS (
                     SELECT 1 FROM journal_entries e WHERE e.cause_type = 'conversion' AND e.cause_id = c.id::text AND e.kind = 'approval')) AS approved`,
          [offer.id],
        )
      ).rows;
      stack.progress.update(`payouts: ${enabled}/${affiliates} payouts enabled, ${approved}/${affiliates} leads approved`);
      return enabled >= affiliates && approved >= affiliates;
    },
    600_000,
    500,
  );
  const [shape] = (
    await stack.db.query(
      `SELECT count(*)::int AS payees, count(DISTINCT (a.balance, c.status, c.revenue, c.payout, (SELECT count(*) FROM journal_entries e WHERE e.cause_type = 'conversion' AND e.cause_id = c.id::text)))::int AS shapes
         FROM conversions c JOIN ledger_accounts a ON a.owner_id = c.affiliate_id AND a.type = 'affiliate_available' AND a.currency = 'USD'
        WHERE c.offer_id = $1`,
      [offer.id],
    )
  ).rows;
  if (shape.payees !== affiliates || shape.shapes !== 1) throw new Error(`payees differ: ${shape.payees} payees in ${shape.shapes} shapes of history`);
  return { affiliates, throughApi, offerId: offer.id };
}

/**
 * The least work for the same transfers: POST /v1/transfers to a fresh emulator, 8 at a time,
 * to one onboarded account. At most 2 000 are sent; the answer is the time for `count` at that rate.
 */
async function rawTransfers(stack: Stack, wanted: number): Promise<number> {
  const count = Math.min(wanted, 2000);
  const port = await freePort();
  const emulator = startNode('baseline-stripe', stack.script('test/support/stripe-emulator/main.js'), {
    args: ['--port', String(port), '--api-key', STRIPE_KEY],
    env: { PATH: process.env.PATH, NODE_ENV: 'production' },
    logFile: join(stack.paths.runDir, 'baseline-stripe.log'),
    cwd: stack.paths.repo,
  });
  try {
    const url = `http://127.0.0.1:${port}`;
    await waitForHttp(`${url}/__emulator/state`, 20_000, emulator);
    const call = async (path: string, body: Record<string, string | number>, extra: Record<string, string> = {}) => {
      const res = await fetch(url + path, {
        method: 'POST',
        headers: { authorization: `Bearer ${STRIPE_KEY}`, 'content-type': 'application/x-www-form-urlencoded', ...extra },
        body: form(body),
      });
      const json = (await res.json()) as { id: string };
      if (res.status !== 200) throw new Error(`${path}: ${res.status} ${JSON.stringify(json)}`);
      return json;
    };
    await fetch(`${url}/__emulator/balance`, { method: 'POST', body: JSON.stringify({ currency: 'usd', amount: 1e13 }) });
    const account = await call('/v1/accounts', { type: 'express', 'capabilities[transfers][requested]': 'true' });
    await fetch(`${url}/__emulator/accounts/${account.id}/complete-onboarding`, { method: 'POST', body: '{}' });
    const started = process.hrtime.bigint();
    await mapLimit(
      Array.from({ length: count }, (_, i) => i),
      TRANSFER_CONCURRENCY,
      (i) => call('/v1/transfers', { amount: PAYOUT, currency: 'usd', destination: account.id, transfer_group: `raw_${i}` }, { 'idempotency-key': `raw-${i}` }),
    );
    return ((Number(process.hrtime.bigint() - started) / 1e9) * wanted) / count;
  } finally {
    await emulator.stop();
  }
}

interface RunView {
  id: string;
  status: string;
  progress: { done: number; total: number };
  amounts: { done: number; total: number };
  paid: number;
  failed: number;
}

/**
 * POST /v1/payout-runs for USD against the Stripe emulator, timed until the run completes; then
 * checks exactly-once (one transfer per affiliate due, none twice, amounts equal) and runs the
 * built ledger verifier (dist/src/ledger-verify.js) over the whole database.
 */
export async function payoutWorkload(stack: Stack, network: Network, data: PayoutData): Promise<void> {
  stack.progress.phase(`payout run: baseline (${data.affiliates} raw transfers against a fresh emulator)`);
  const baseSeconds = await rawTransfers(stack, data.affiliates);

  stack.progress.phase(`payout run: ours (POST /v1/payout-runs, ${data.affiliates} affiliates)`);
  const stripe = new Api(stack.stripeUrl);
  await stripe.post('/__emulator/balance', { currency: 'usd', amount: 1e13 }, [200]);
  // Stripe's webhook endpoint as docs/operations.md registers it: the events we act on (the bench
  // has no Connect endpoint, so account.updated comes here too), not transfer.created.
  // BENCH_PAYOUT_WEBHOOK_EVENTS=all sends every event, as an endpoint subscribed to all would.
  const allEvents = process.env.BENCH_PAYOUT_WEBHOOK_EVENTS === 'all';
  await stripe.post('/__emulator/webhook-url', { url: `${stack.baseUrl}/webhooks/stripe`, enabledEvents: allEvents ? ['*'] : WEBHOOK_EVENTS }, [200]);
  const dry = await network.financeApi.post<RunView>('/v1/payout-runs', { currency: 'USD', dryRun: true }, [202]);
  const due = dry.progress.total;
  const meter = cpuMeter({
    api: (pid) => pid === stack.api.pid,
    worker: (pid) => pid === stack.worker.pid,
    emulator: (pid) => pid === stack.emulator.pid,
    postgres: postgresFor(stack.paths.dbName),
    redis: (_pid, comm) => comm.startsWith('redis-server'),
  });
  const started = process.hrtime.bigint();
  const requested = await network.financeApi.post<RunView>('/v1/payout-runs', { currency: 'USD' }, [202]);
  let view = requested;
  await profiled(stack, stack.worker, 'payout-run-worker', () =>
    waitFor(
      'the payout run to finish',
      async () => {
        view = await network.financeApi.get<RunView>(`/v1/payout-runs/${requested.id}`);
        stack.progress.update(`${view.status}: ${view.progress.done}/${view.progress.total} paid`);
        return view.status === 'completed' || view.status === 'failed';
      },
      stack.options.quick ? 120_000 : 900_000,
      100,
      stack.worker,
    ),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const cpu = meter.stop();
  const [phases] = (
    await stack.db.query(
      `SELECT extract(epoch FROM planned_at - started_at)::float AS plan, extract(epoch FROM finished_at - planned_at)::float AS transfers FROM payout_runs WHERE id = $1`,
      [requested.id],
    )
  ).rows;

  stack.progress.phase('payout run: checking exactly-once and the ledger');
  const transfers = (await stripe.get<{ destination: string; amount: number; transfer_group: string | null }[]>('/__emulator/transfers')).filter((t) =>
    t.transfer_group?.startsWith('payout_'),
  );
  const perDestination = new Map<string, number>();
  for (const t of transfers) perDestination.set(t.destination, (perDestination.get(t.destination) ?? 0) + 1);
  const twice = [...perDestination.values()].filter((n) => n > 1).length;
  const sent = transfers.reduce((sum, t) => sum + t.amount, 0);
  const [{ paid, amount }] = (
    await stack.db.query(`SELECT count(*)::int AS paid, coalesce(sum(amount), 0)::bigint AS amount FROM payouts WHERE run_id = $1 AND status = 'paid'`, [requested.id])
  ).rows;
  // The commission checks want idle commission jobs; the transfer.created webhooks may trail.
  await stack.settle(['commissions', 'payouts']);
  const verify = await run(process.execPath, [stack.script('src/ledger-verify.js')], { env: stack.env(0), maxBuffer: 16 * 2 ** 20 }).then(
    (r) => ({ ok: true, out: r.stdout }),
    (e: { stdout?: string; stderr?: string; code?: number }) => ({ ok: false, out: `${e.stdout ?? ''}${e.stderr ?? ''} (exit ${e.code})` }),
  );
  const verdictLine = verify.out.trim().split('\n').pop() ?? '';
  const exact =
    view.status === 'completed' && transfers.length === due && due === data.affiliates && twice === 0 && perDestination.size === due && sent === Number(amount) && paid === due;
  stack.record({
    name: `payout run (${data.affiliates.toLocaleString('en-US')} affiliates): exactly once`,
    ours: transfers.length,
    baseline: due,
    ratio: due ? round(transfers.length / due, 4) : null,
    target: '= affiliates due, none twice, ledger verified',
    pass: exact && verify.ok,
    unit: 'transfers',
    baselineUnit: 'due',
    note: `run ${view.status}, ${paid} payouts paid (${view.failed} failed), ${perDestination.size} accounts paid, ${twice} paid twice, transfers ${sent} = payouts ${amount} minor units; ${verdictLine}`,
  });
  stack.record({
    name: `payout run (${data.affiliates.toLocaleString('en-US')} affiliates): duration`,
    ours: round(seconds, 1),
    baseline: round(baseSeconds, 1),
    ratio: round(baseSeconds / seconds, 3),
    target: `≥ ${TARGET_RATIO}× of ${TRANSFER_CONCURRENCY} concurrent bare transfers`,
    pass: baseSeconds / seconds >= TARGET_RATIO,
    unit: 's',
    note: `${round(data.affiliates / seconds)} payouts/s (planning ${round(phases.plan, 1)} s, transfers ${round(phases.transfers, 1)} s); CPU µs per payout over the run: ${perUnit(cpu, data.affiliates, { api: 'API', worker: 'worker', emulator: 'emulator', postgres: 'PostgreSQL', redis: 'Redis' })}; webhook events: ${allEvents ? 'all (transfer.created too)' : 'those we act on'}; baseline: bare POST /v1/transfers, ${TRANSFER_CONCURRENCY} at a time, against a fresh emulator (${Math.min(data.affiliates, 2000)} sent, time scaled to ${data.affiliates}); ${data.throughApi} payees seeded through the API, the rest in bulk`,
  });
}
