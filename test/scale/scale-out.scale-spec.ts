import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { resolve } from 'node:path';
import { prepareDatabase } from '../../src/database/prepare';
import { QUEUES } from '../../src/queue/queues';
import { call } from '../faults/support/client';
import { ApiProc, Deployment } from '../faults/support/deployment';
import { EmulatorProc } from '../faults/support/emulator';
import { sleep, waitFor } from '../faults/support/env';
import { payoutRunCompleted } from '../faults/support/payout-runs';
import { loadUntil, tally } from '../faults/support/load';
import { clickIdFor, Party, principal, smallNetwork } from '../faults/support/network';
import type { Proc } from '../faults/support/processes';
import { Payable, seedPayableAffiliates } from '../faults/support/seed';
import { LoadBalancer, PostgresPair, RedisCluster } from './support/topology';

const QUICK = process.env.AFX_SCALE_QUICK === '1';
/** Seconds of click load per throughput measurement. */
const MEASURE_S = QUICK ? 4 : 10;
/** Affiliates paid by the payout run a worker is killed in. */
const PAYABLES = QUICK ? 300 : 1500;
/** Seconds of mixed load around each failure. */
const LOAD_S = QUICK ? 6 : 15;
const CONCURRENCY = 32;
const PREFIX = 'afx';

/** Every figure the run prints (and writes to test/artifacts/scale-figures.json for the README). */
const figures: Record<string, unknown> = {};
function figure(name: string, value: unknown): void {
  figures[name] = value;
  process.stderr.write(`scale: ${name}: ${typeof value === 'string' ? value : JSON.stringify(value)}\n`);
}

interface Click {
  id: string;
  by: string;
  at: number;
}

describe(`scale out on real engines${QUICK ? ' (quick)' : ''}`, () => {
  let pg: PostgresPair;
  let cluster: RedisCluster;
  let emulator: EmulatorProc;
  let lb: LoadBalancer;
  let d: Deployment;
  const apis: ApiProc[] = [];
  const workers: Proc[] = [];
  let network: Awaited<ReturnType<typeof smallNetwork>>;
  let finance: Party;
  const startedAt = Date.now();

  const admin =
    () =>
    (method: string, path: string, options: Parameters<typeof call>[3] = {}) =>
      call(lb.url, method, path, { key: d.adminKey, ...options });
  const backends = () => apis.filter((a) => a.running).map((a) => ({ name: a.name.replace('#', ''), url: a.url }));

  /** One click through the load balancer: its id (from the cookie) and which API answered, or why it failed. */
  async function click(i: number, tag: string): Promise<Click | string> {
    try {
      const res = await fetch(`${lb.url}/c/${network.link.code}?sub1=${tag}${i}`, { redirect: 'manual', headers: { 'user-agent': `scale ${tag} ${i % 50}` } });
      await res.arrayBuffer();
      if (res.status !== 302) return String(res.status);
      return { id: /afx_click=([^;]+)/.exec(res.headers.get('set-cookie') ?? '')?.[1] ?? '', by: res.headers.get('x-served-by') ?? '?', at: Date.now() };
    } catch (error) {
      return (error as Error).message;
    }
  }

  async function measureClicks(tag: string): Promise<{ perSecond: number; answered: Click[]; failed: string[] }> {
    const started = Date.now();
    const until = started + MEASURE_S * 1000;
    const results = await loadUntil(
      () => Date.now() > until,
      CONCURRENCY,
      10_000_000,
      (i) => click(i, tag),
    );
    const answered = results.filter((r): r is Click => typeof r !== 'string');
    const failed = results.filter((r): r is string => typeof r === 'string');
    return { perSecond: Math.round(answered.length / ((Date.now() - started) / 1000)), answered, failed };
  }

  /** A request the load balancer may refuse (503: no API process passed its last health check) while the machine is overloaded: asked again. */
  async function untilAccepted(what: string, send: () => ReturnType<typeof call>): ReturnType<typeof call> {
    const refusals: string[] = [];
    const res = await waitFor(
      what,
      async () => {
        const r = await send();
        if (r.status !== 503) return r;
        refusals.push(r.text.slice(0, 80));
        return null;
      },
      60_000,
      500,
    );
    if (refusals.length)
      figure(
        `${what}: 503s before it was accepted`,
        tally(refusals, (t) => t),
      );
    return res;
  }

  async function storedOf(ids: string[]): Promise<Set<string>> {
    const { rows } = await d.db.query<{ id: string }>(`SELECT id FROM clicks WHERE id = ANY($1)`, [ids]);
    return new Set(rows.map((r) => r.id));
  }

  async function worker(): Promise<Proc> {
    const w = await d.worker();
    workers.push(w);
    return w;
  }

  beforeAll(async () => {
    const t0 = Date.now();
    [pg, cluster, emulator, lb] = await Promise.all([PostgresPair.start(), RedisCluster.start(), EmulatorProc.start(), LoadBalancer.start()]);
    const database = 'afx_scale';
    await prepareDatabase(pg.url(database));
    await pg.waitCaughtUp();
    d = await Deployment.create({
      databaseUrl: pg.url(database),
      redisUrl: `redis://127.0.0.1:${cluster.nodesSetting.split(',')[0].split(':')[1]}`,
      env: {
        ...emulator.env,
        QUEUE_PREFIX: PREFIX,
        REDIS_CLUSTER_NODES: cluster.nodesSetting,
        DATABASE_REPLICA_URL: pg.url(database, true),
      },
    });
    apis.push(await d.api());
    await lb.serve(backends());
    await emulator.setWebhookUrl(`${lb.url}/webhooks/stripe`);
    await worker();
    await worker();
    network = await smallNetwork(
      d,
      (key) =>
        (method, path, options = {}) =>
          call(lb.url, method, path, { key, ...options }),
    );
    finance = await principal(d, admin(), 'finance-users');
    figure('machine', `${cpus().length} cores (${cpus()[0]?.model.trim()}), ${execFileSync('uname', ['-sr']).toString().trim()}, node ${process.version}`);
    figure('engines', {
      redis: execFileSync('redis-server', ['--version'])
        .toString()
        .match(/v=(\S+)/)?.[1],
      postgresql: execFileSync('/usr/lib/postgresql/15/bin/postgres', ['--version']).toString().trim(),
      haproxy: execFileSync('haproxy', ['-v']).toString().split('\n')[0],
    });
    figure('topology up in s', Math.round((Date.now() - t0) / 100) / 10);
    // Each queue has its hash tag; where each tag lives now.
    figure('queues per Redis primary', cluster.spread([...Object.values(QUEUES).map((q) => `{${PREFIX}:${q}}`), `{${PREFIX}}`]));
  }, 300_000);

  afterAll(async () => {
    try {
      if (d) {
        const verify = await d.cli('ledger-verify');
        figure('ledger-verify exit code', verify.code);
        expect(verify.code).toBe(0);
      }
    } finally {
      figure('run took s', Math.round((Date.now() - startedAt) / 1000));
      figure('date', new Date().toISOString());
      const out = resolve(__dirname, '../artifacts');
      mkdirSync(out, { recursive: true });
      writeFileSync(resolve(out, `scale-figures${QUICK ? '-quick' : ''}.json`), JSON.stringify(figures, null, 2));
      await d?.close().catch((error) => process.stderr.write(`${error}\n`));
      await lb?.stop();
      await emulator?.kill('SIGTERM');
      await cluster?.stop();
      await pg?.stop();
    }
  }, 300_000);

  it('spreads the queues over the primaries (one hash tag per queue)', () => {
    const spread = cluster.spread(Object.values(QUEUES).map((q) => `{${PREFIX}:${q}}`));
    expect(Object.keys(spread).length).toBeGreaterThanOrEqual(2);
  });

  it('serves clicks with 1, then 2 API processes behind the load balancer, every 302 stored', async () => {
    const one = await measureClicks('one');
    apis.push(await d.api());
    await lb.serve(backends());
    const two = await measureClicks('two');
    figure('clicks/s through HAProxy, 1 API process', one.perSecond);
    figure('clicks/s through HAProxy, 2 API processes', two.perSecond);
    figure('clicks refused while measuring', { oneApi: tally(one.failed, (f) => f), twoApis: tally(two.failed, (f) => f) });
    // Refusals only when this shared machine is overloaded (HAProxy's 503 while no API passed its health check in time).
    const failed = [...one.failed, ...two.failed];
    expect(failed.filter((f) => f !== '503')).toEqual([]);
    expect(failed.length).toBeLessThanOrEqual((one.answered.length + two.answered.length) * 0.05);
    figure(
      '2-API clicks answered per process',
      tally(two.answered, (c) => c.by),
    );
    const all = [...one.answered, ...two.answered].map((c) => c.id);
    const stored = await waitFor('every answered click to be stored', async () => ((await storedOf(all)).size === all.length ? all.length : null), 30_000, 200);
    expect(stored).toBe(all.length);
    expect(Object.keys(tally(two.answered, (c) => c.by)).length).toBe(2);
  });

  it('loses no conversion, commission, approval or invoice, and doubles none, when a Redis primary is killed under mixed load', async () => {
    const victim = cluster.primaryOf(`{${PREFIX}:${QUEUES.commissions}}`);
    const tagsOnVictim = cluster.spread([...Object.values(QUEUES).map((q) => `{${PREFIX}:${q}}`), `{${PREFIX}}`])[victim];
    const accepted: string[] = [];
    const approved: string[] = [];
    const outcomes: string[] = [];
    let killedAt = 0;
    const until = Date.now() + LOAD_S * 1000;
    const stop = () => Date.now() > until;
    const advertiser = network.advertiser;
    const postbacks = loadUntil(stop, 12, 1_000_000, async (i) => {
      const res = await call(lb.url, 'GET', '/postback', {
        query: { token: advertiser.postbackToken, click_id: clickIdFor(d, network.link.id), goal: 'lead', txn_id: `fail-redis-${i}` },
        timeoutMs: 30_000,
      }).catch((error: Error) => ({ status: 0, body: null, text: error.message }));
      outcomes.push(`postback ${res.status}${killedAt ? ' (after kill)' : ''}`);
      if (res.status === 201) {
        accepted.push(res.body.id);
        // Every other conversion approved at once: an approval under failover too.
        if (i % 2 === 0) {
          const ok = await call(lb.url, 'POST', `/v1/conversions/${res.body.id}/approve`, { key: advertiser.apiKey, body: {}, timeoutMs: 30_000 }).catch(() => null);
          outcomes.push(`approve ${ok?.status ?? 'error'}${killedAt ? ' (after kill)' : ''}`);
          if (ok?.status === 200) approved.push(res.body.id);
        }
      } else if (res.status !== 503) await sleep(20);
    });
    const clicks = loadUntil(stop, 8, 1_000_000, (i) => click(i, 'redis'));
    await sleep(LOAD_S * 300);
    killedAt = Date.now();
    await cluster.kill(victim);
    await cluster.waitHealthy(60_000);
    const failoverS = (Date.now() - killedAt) / 1000;
    // An invoice run requested while the cluster has just failed over.
    const from = new Date(Date.now() - 24 * 3600_000).toISOString();
    const invoiceRun = await untilAccepted('invoice run request', () =>
      call(lb.url, 'POST', '/v1/invoice-runs', { key: finance.apiKey, body: { from, to: new Date(until + 60_000).toISOString() } }),
    );
    expect(invoiceRun.status).toBe(202);
    const [, clickResults] = await Promise.all([postbacks, clicks]);
    await cluster.restart(victim);

    // Everything accepted is posted exactly once once the queues are drained.
    await waitFor(
      'every accepted conversion to have its commission',
      async () => (await d.count(`SELECT count(DISTINCT cause_id) FROM journal_entries WHERE kind = 'commission' AND cause_id = ANY($1)`, [accepted])) === accepted.length,
      120_000,
      250,
    );
    await waitFor(
      'every approval to be posted',
      async () => (await d.count(`SELECT count(DISTINCT cause_id) FROM journal_entries WHERE kind = 'approval' AND cause_id = ANY($1)`, [approved])) === approved.length,
      120_000,
      250,
    );
    const run = await waitFor(
      'the invoice run to complete',
      async () => {
        const res = await call(lb.url, 'GET', `/v1/invoice-runs/${invoiceRun.body.id}`, { key: finance.apiKey });
        return res.body?.status === 'completed' || res.body?.status === 'failed' ? res.body : null;
      },
      120_000,
      250,
    );
    const storedConversions = await d.count(`SELECT count(*) FROM conversions WHERE id = ANY($1)`, [accepted]);
    const commissionEntries = await d.count(`SELECT count(*) FROM journal_entries WHERE kind = 'commission' AND cause_id = ANY($1)`, [accepted]);
    const approvalEntries = await d.count(`SELECT count(*) FROM journal_entries WHERE kind = 'approval' AND cause_id = ANY($1)`, [approved]);
    const {
      rows: [billing],
    } = await d.db.query(
      `SELECT count(*)::int AS invoices, count(DISTINCT (advertiser_id, currency))::int AS advertisers,
              coalesce(sum(amount), 0)::bigint AS invoiced,
              (SELECT coalesce(sum(revenue), 0) FROM conversions c WHERE c.invoice_id IN (SELECT id FROM invoices WHERE run_id = $1))::bigint AS billed,
              (SELECT count(*) FROM conversions c WHERE c.invoice_id IN (SELECT id FROM invoices WHERE run_id = $1))::int AS billed_conversions
         FROM invoices WHERE run_id = $1`,
      [invoiceRun.body.id],
    );
    figure('redis primary killed', { port: victim, hashTagsItServed: tagsOnVictim, failoverSeconds: failoverS });
    figure(
      'redis failover: outcomes',
      tally(outcomes, (o) => o),
    );
    figure(
      'redis failover: clicks',
      tally(clickResults, (r) => (typeof r === 'string' ? r : '302')),
    );
    figure('redis failover: conversions', {
      accepted: accepted.length,
      stored: storedConversions,
      commissionEntries,
      approved: approved.length,
      approvalEntries,
    });
    figure('redis failover: invoice run', { status: run.status, ...billing });
    expect({ storedConversions, commissionEntries, approvalEntries }).toEqual({
      storedConversions: accepted.length,
      commissionEntries: accepted.length,
      approvalEntries: approved.length,
    });
    expect(run.status).toBe('completed');
    expect(billing.invoices).toBe(billing.advertisers);
    expect(Number(billing.invoiced)).toBe(Number(billing.billed));
    // The run bills what was approved when it ran (approvals went on after it): only approved conversions, each once.
    expect(billing.billed_conversions).toBeGreaterThan(0);
    expect(
      await d.count(`SELECT count(*) FROM conversions WHERE invoice_id IN (SELECT id FROM invoices WHERE run_id = $1) AND NOT (id = ANY($2))`, [invoiceRun.body.id, approved]),
    ).toBe(0);
    expect(accepted.length).toBeGreaterThan(0);
  });

  it('routes around a killed API process: every click it did not hold in memory is stored', async () => {
    if (apis.filter((a) => a.running).length < 2) {
      apis.push(await d.api());
      await lb.serve(backends());
    }
    const victim = apis.filter((a) => a.running)[1];
    const victimName = victim.name.replace('#', '');
    let killedAt = 0;
    const until = Date.now() + LOAD_S * 1000;
    const load = loadUntil(
      () => Date.now() > until,
      CONCURRENCY,
      10_000_000,
      (i) => click(i, 'api'),
    );
    await sleep(LOAD_S * 400);
    killedAt = Date.now();
    await victim.kill('SIGKILL');
    const results = await load;
    const answered = results.filter((r): r is Click => typeof r !== 'string');
    const failed = results.filter((r): r is string => typeof r === 'string');
    await sleep(1000); // the survivor's buffer is flushed
    const stored = await storedOf(answered.map((c) => c.id));
    const lost = answered.filter((c) => !stored.has(c.id));
    const afterKill = answered.filter((c) => c.at > killedAt);
    const survivorLost = lost.filter((c) => c.by !== victimName).length;
    figure('api kill: clicks', {
      answered302: answered.length,
      stored: stored.size,
      lostInDeadProcessBuffer: lost.length - survivorLost,
      lostFromSurvivor: survivorLost,
      answeredByDeadBeforeKill: answered.filter((c) => c.by === victimName).length,
      answeredAfterKill: afterKill.length,
      failedRequests: tally(failed, (f) => f),
    });
    // Lost: only clicks the dead process answered, in its last flush interval before the kill.
    expect(lost.filter((c) => c.by !== victimName)).toEqual([]);
    expect(lost.filter((c) => c.at < killedAt - 1000)).toEqual([]);
    // After the kill the load balancer answers from the survivor only (answers read up to ~1 s late on this busy client).
    expect(afterKill.filter((c) => c.by === victimName && c.at > killedAt + 2000)).toEqual([]);
    expect(afterKill.length).toBeGreaterThan(0);
    expect(failed.length).toBeLessThanOrEqual(CONCURRENCY);
    await lb.serve(backends());
  });

  it('pays every affiliate exactly once when the worker running the payout run is killed mid run', async () => {
    const payables: Payable[] = await seedPayableAffiliates(d, emulator, PAYABLES, 'EUR', (i) => 1000 + ((i * 7919) % 49_000));
    const started = await admin()('POST', '/v1/payout-runs', { body: { currency: 'EUR' } });
    expect(started.status).toBe(202);
    const runId: string = started.body.id;
    const units = () => d.count(`SELECT (SELECT count(*) FROM payouts WHERE run_id = $1) + (SELECT count(*) FROM payouts WHERE run_id = $1 AND status = 'paid')`, [runId]);
    // Killed while transferring (every payout planned, a third paid), when the run's worker talks to Stripe.
    const threshold = PAYABLES + Math.floor(PAYABLES / 3);
    await waitFor('the run to be under way', async () => (await units()) >= threshold, 180_000, 20);
    const holder = holderOf(emulator, workers) ?? workers[0];
    const holderConnections = holderOf.lastFound;
    const killedAtUnit = await units();
    await holder.kill('SIGKILL');
    workers.splice(workers.indexOf(holder), 1);
    await expireJobLock(cluster, `{${PREFIX}:${QUEUES.payouts}}:${QUEUES.payouts}`, `payout-run-${runId}`);
    await worker();
    const run = await payoutRunCompleted(d.db, runId, 300_000);
    const transfers = (await emulator.transfers()).filter((t) => payables.some((p) => p.accountId === t.destination));
    const byAccount = new Map<string, number[]>();
    for (const t of transfers) byAccount.set(t.destination as string, [...(byAccount.get(t.destination as string) ?? []), t.amount]);
    const doubled = payables.filter((p) => (byAccount.get(p.accountId) ?? []).length > 1).length;
    const missed = payables.filter((p) => !byAccount.has(p.accountId)).length;
    const wrong = payables.filter((p) => (byAccount.get(p.accountId) ?? [p.amount])[0] !== p.amount).length;
    figure('worker kill mid payout run', {
      affiliates: PAYABLES,
      killedAtUnit: `${killedAtUnit} of ${PAYABLES * 2} (planned + paid)`,
      killedHolder: holderConnections ? `the worker with ${holderConnections} connections to Stripe` : 'not identified, killed the first worker',
      transfers: transfers.length,
      doubled,
      missed,
      wrongAmount: wrong,
    });
    expect(holderConnections).toBeGreaterThan(0); // the worker killed was the one running the payouts
    expect(run).toMatchObject({ done_count: PAYABLES, failed_count: 0, total_count: PAYABLES });
    expect({ transfers: transfers.length, doubled, missed, wrong }).toEqual({ transfers: PAYABLES, doubled: 0, missed: 0, wrong: 0 });
  });

  it('answers reports from the primary, with the same figures, when the replica stops', async () => {
    await pg.waitCaughtUp();
    const today = new Date().toISOString().slice(0, 10);
    const stats = () => admin()('GET', '/v1/reports/stats', { query: { from: today, to: today, timezone: 'UTC', groupBy: 'offer' }, timeoutMs: 30_000 });
    const summary = () => admin()('GET', '/v1/statements/summary/affiliates', { query: { from: today, to: today }, timeoutMs: 30_000 });
    // Reports do read from the replica while it is up.
    const replicaReaders = async () => {
      const c = new (await import('pg')).Client({ connectionString: pg.url('afx_scale', true) });
      await c.connect();
      try {
        return Number((await c.query(`SELECT count(*) AS n FROM pg_stat_activity WHERE datname = 'afx_scale' AND pid <> pg_backend_pid()`)).rows[0].n);
      } finally {
        await c.end();
      }
    };
    const [refStats, refSummary] = await Promise.all([stats(), summary()]);
    expect([refStats.status, refSummary.status]).toEqual([200, 200]);
    expect(await replicaReaders()).toBeGreaterThan(0);

    pg.stopReplica();
    const answers: { status: number; same: boolean; error?: string }[] = [];
    const until = Date.now() + (QUICK ? 3000 : 8000);
    await loadUntil(
      () => Date.now() > until,
      8,
      100_000,
      async (i) => {
        const res = i % 2 ? await stats() : await summary();
        const ref = i % 2 ? refStats : refSummary;
        answers.push({
          status: res.status,
          same: res.status === 200 && JSON.stringify(res.body) === JSON.stringify(ref.body),
          error: res.status === 200 ? undefined : res.body?.error?.message,
        });
      },
    );
    pg.startReplica();
    figure('replica stopped: API log lines switching reads to the primary', d.procs.flatMap((p) => p.lines).filter((l) => l.includes('read replica unreachable')).length);
    figure(
      'replica stopped: report answers',
      tally(answers, (a) => (a.status === 200 ? (a.same ? '200 same figures' : '200 DIFFERENT figures') : `${a.status} ${a.error ?? ''}`)),
    );
    // Never a wrong figure: the same answer as the caught-up replica gave, or a clear 503.
    expect(answers.filter((a) => !(a.status === 200 && a.same) && a.status !== 503)).toEqual([]);
    expect(answers.filter((a) => a.status === 200).length).toBeGreaterThan(0);
    // The replica is read again once it is back.
    await waitFor('reports to read from the replica again', async () => (await stats()).status === 200 && (await replicaReaders()) > 0, 30_000, 500);
  });
});

/** The worker process talking to the Stripe emulator now (the one running the payout run): the most connections to its port. */
function holderOf(emulator: EmulatorProc, candidates: Proc[]): Proc | undefined {
  holderOf.lastFound = 0;
  const port = new URL(emulator.url).port;
  let out = '';
  try {
    out = execFileSync('ss', ['-tnpH', 'dst', `127.0.0.1:${port}`]).toString();
  } catch {
    return undefined;
  }
  let best: Proc | undefined;
  for (const w of candidates) {
    const n = out.split('\n').filter((l) => l.includes(`pid=${w.pid},`)).length;
    if (n > holderOf.lastFound) {
      holderOf.lastFound = n;
      best = w;
    }
  }
  return best;
}
holderOf.lastFound = 0;

/**
 * What BullMQ does 30–60 s after a worker died holding a job (its lock expires, another worker's
 * stalled check takes it over), done at once so the test does not wait for it.
 */
async function expireJobLock(cluster: RedisCluster, queueKey: string, jobId: string): Promise<void> {
  const redis = cluster.client();
  try {
    await redis.del(`${queueKey}:${jobId}:lock`);
    await redis.sadd(`${queueKey}:stalled`, jobId);
    await redis.del(`${queueKey}:stalled-check`);
  } finally {
    redis.disconnect();
  }
}
