import { randomBytes } from 'node:crypto';
import { copyCsv } from '../baselines/copy-csv';
import { transaction } from '../lib/db';
import { mapLimit } from '../lib/http';
import { memoryOf, resetPeakMemory, sampleMemory } from '../lib/proc';
import { profiled } from '../lib/profiling';
import { ratioOf, round } from '../lib/results';
import type { Stack } from '../lib/stack';
import { createPrincipal, Network, offerBody } from './seed';

const RSS_TARGET_MB = 200;
const RATIO_TARGET = 0.8;
const CHUNK = 50_000;
const AMOUNT = 250;
const CURRENCY = 'EUR';
const DAY_MS = 86_400_000;

export interface StatementData {
  affiliateId: string;
  lines: number;
  from: string;
  to: string;
}

/**
 * One chunk of the affiliate's history in one transaction: conversions (risk-scored) and their commission
 * entries (Dr advertiser receivable, Cr affiliate pending; revenue = payout, so two lines, no
 * margin line), spread evenly over 30 days. INSERT only; the deferred balance
 * triggers run before the cached balances move, so the accounts are locked only for a moment.
 */
const CHUNK_SQL = `
  WITH g AS MATERIALIZED (
    -- Ids in time order (a random prefix, then the sequence): index inserts append, as they
    -- nearly do for rows written over 30 days; random ids would cost the generation a third more.
    SELECT i, ($11 || lpad(to_hex(i), 24, '0'))::uuid AS conversion_id, ($12 || lpad(to_hex(i), 24, '0'))::uuid AS entry_id,
           date_trunc('milliseconds', $1::timestamptz + (i * $2::double precision) * interval '1 millisecond') AS at
      FROM generate_series($3::int, $4::int) AS i
  ), conversions_ AS (
    INSERT INTO conversions (id, advertiser_id, offer_id, goal_id, goal_key, affiliate_id, txn_id, currency, revenue, payout,
                             revenue_rule, payout_rule, status, source, approve_after, created_at, updated_at,
                             risk_score, risk_reasons, risk_checked_at)
    -- Scored clean when they came in, as the quality job would have done over those 30 days: left
    -- unscored, the job would spend the export scoring a million old conversions beside it.
    SELECT conversion_id, $5, $6, $7, 'lead', $8, 'S-' || i, '${CURRENCY}', ${AMOUNT}, ${AMOUNT},
           '{"type":"flat","amount":${AMOUNT}}', '{"type":"flat","amount":${AMOUNT}}', 'pending', 'postback', at + interval '365 days', at, at,
           0, '[]'::jsonb, at
      FROM g
  ), entries AS (
    INSERT INTO journal_entries (id, kind, cause_type, cause_id, memo, created_at, effective_at)
    SELECT entry_id, 'commission', 'conversion', conversion_id::text, 'lead S-' || i, at, at FROM g
  )
  INSERT INTO journal_lines (entry_id, kind, effective_at, account_id, currency, amount, created_at)
  SELECT g.entry_id, 'commission', g.at, x.account_id, '${CURRENCY}', x.amount, g.at
    FROM g CROSS JOIN (VALUES ($9::uuid, ${AMOUNT}::bigint), ($10::uuid, -${AMOUNT}::bigint)) AS x(account_id, amount)`;

/**
 * An affiliate with a history of `lines` commissions (1 M in a full run), written with SQL in
 * parallel chunks: principals and offer through the API, the rows as the commission job would
 * have left them. Runs while the payout run's affiliates are being seeded.
 */
export async function prepareStatement(stack: Stack, _network: Network): Promise<StatementData> {
  const lines = Number(process.env.BENCH_STATEMENT_LINES) || (stack.options.quick ? 5_000 : 1_000_000);
  const advertiser = await createPrincipal(stack, 'advertisers', 'Statement Advertiser');
  const affiliate = await createPrincipal(stack, 'affiliates', 'Statement Affiliate');
  // A long lock period: the approval job leaves these conversions alone.
  const offer = await stack.admin
    .as(advertiser.apiKey)
    .post<{ id: string }>(
      '/v1/offers',
      offerBody({ currency: CURRENCY, lockPeriodDays: 365, goals: [{ key: 'lead', revenue: { type: 'flat', amount: AMOUNT }, payout: { type: 'flat', amount: AMOUNT } }] }),
      [201],
    );
  const [{ id: goalId }] = (await stack.db.query(`SELECT id FROM offer_goals WHERE offer_id = $1 AND key = 'lead'`, [offer.id])).rows;
  await stack.db.query(
    `INSERT INTO ledger_accounts (type, owner_id, currency) VALUES ('advertiser_receivable', $1, $3), ('affiliate_pending', $2, $3)
     ON CONFLICT (type, (COALESCE(owner_id, '00000000-0000-0000-0000-000000000000'::uuid)), currency) DO NOTHING`,
    [advertiser.id, affiliate.id, CURRENCY],
  );
  const account = async (type: string, owner: string) =>
    (await stack.db.query(`SELECT id FROM ledger_accounts WHERE type = $1 AND owner_id = $2 AND currency = $3`, [type, owner, CURRENCY])).rows[0].id as string;
  const receivable = await account('advertiser_receivable', advertiser.id);
  const pending = await account('affiliate_pending', affiliate.id);

  // Days 61 to 31 before today: the reports' 30 days (and their rollup rebuild) stay clear of this history.
  const now = Date.now() - 31 * DAY_MS;
  const start = new Date(now - 30 * DAY_MS);
  const prefixes = [randomBytes(4).toString('hex'), randomBytes(4).toString('hex')];
  const stepMs = (30 * DAY_MS - 3_600_000) / lines;
  const chunks = Array.from({ length: Math.ceil(lines / CHUNK) }, (_, i) => [i * CHUNK, Math.min(lines, (i + 1) * CHUNK) - 1]);
  let written = 0;
  const started = Date.now();
  await mapLimit(chunks, 2, async ([lo, hi]) => {
    await transaction(stack.db, async (client) => {
      await client.query(CHUNK_SQL, [start, stepMs, lo, hi, advertiser.id, offer.id, goalId, affiliate.id, receivable, pending, prefixes[0], prefixes[1]]);
      await client.query('SET CONSTRAINTS ALL IMMEDIATE');
      await client.query(`UPDATE ledger_accounts SET balance = balance + CASE WHEN id = $1 THEN $3::bigint ELSE -$3::bigint END WHERE id IN ($1, $2)`, [
        receivable,
        pending,
        (hi - lo + 1) * AMOUNT,
      ]);
    });
    written += hi - lo + 1;
    stack.progress.update(`statement history: ${written}/${lines} commission entries written`);
  });
  // As after any bulk load: fresh statistics, or the planner takes a million rows for a few.
  await stack.db.query('ANALYZE conversions, journal_entries, journal_lines, ledger_accounts');
  stack.progress.log(`  statement: ${lines} commissions of one affiliate written in ${Math.round((Date.now() - started) / 1000)} s`);
  const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
  return { affiliateId: affiliate.id, lines, from: day(now - 31 * DAY_MS), to: day(now + DAY_MS) };
}

/** The same rows as the statement's movements, as COPY sees them: the least work for the same CSV. */
const COPY_SQL = `
  SELECT e.created_at AS date, 'conversion' AS type, l.currency, -l.amount AS amount, o.name AS offer, c.goal_key AS goal,
         c.txn_id, c.sale_amount, c.status
    FROM journal_lines l
    JOIN ledger_accounts a ON a.id = l.account_id
    JOIN journal_entries e ON e.id = l.entry_id
    LEFT JOIN conversions c ON e.cause_type = 'conversion' AND c.id::text = e.cause_id
    LEFT JOIN offers o ON o.id = c.offer_id
   WHERE a.owner_id = :affiliate AND a.type IN ('affiliate_pending', 'affiliate_available', 'affiliate_clawback')
     AND e.created_at >= :from::date AND e.created_at < :to::date + 1
   ORDER BY e.created_at, e.id`;

/**
 * `GET /v1/statements?format=csv` for the affiliate with 1 M commissions: the API process's peak
 * RSS while it streams, and its lines/s against COPY … TO STDOUT of the same rows.
 */
export async function statementWorkload(stack: Stack, network: Network, data: StatementData): Promise<void> {
  stack.progress.phase(`statement export: baseline (COPY … TO STDOUT, ${data.lines} rows)`);
  const copy = await copyCsv(stack.paths.dbUrl, COPY_SQL, { affiliate: data.affiliateId, from: data.from, to: data.to });
  const copyRate = (copy.lines - 1) / copy.seconds;

  stack.progress.phase(`statement export: ours (GET /v1/statements?format=csv, ${data.lines} lines)`);
  // Time enough for 1/20 of COPY's speed (at least a minute, at most five); and a run that after
  // 30 s goes at under a tenth of COPY's speed is stopped there: it cannot meet the target.
  const timeoutMs = Math.round(Math.min(300_000, Math.max(60_000, 20_000 * copy.seconds)));
  const pid = stack.api.pid;
  const rssBefore = memoryOf(pid)?.rss ?? NaN;
  const peakReset = resetPeakMemory(pid);
  const sampler = sampleMemory(pid);
  let bytes = 0;
  let lines = 0;
  let timedOut = false;
  const started = process.hrtime.bigint();
  const seconds = () => Number(process.hrtime.bigint() - started) / 1e9;
  await profiled(stack, stack.api, 'statement-csv', async () => {
    const controller = new AbortController();
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeoutMs);
    try {
      const res = await fetch(`${stack.baseUrl}/v1/statements?affiliateId=${data.affiliateId}&from=${data.from}&to=${data.to}&format=csv`, {
        headers: { authorization: `Bearer ${network.finance.apiKey}` },
        signal: controller.signal,
      });
      if (res.status !== 200) throw new Error(`GET /v1/statements: HTTP ${res.status} ${(await res.text()).slice(0, 300)}`);
      const reader = (res.body as ReadableStream<Uint8Array>).getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        bytes += value.length;
        for (let i = value.indexOf(10); i >= 0; i = value.indexOf(10, i + 1)) lines++;
        if (seconds() > 30 && lines / seconds() < copyRate / 10) {
          timedOut = true;
          controller.abort();
          break;
        }
        if (lines % 1000 < 50) stack.progress.update(`${lines} lines, ${Math.round(lines / seconds())}/s, RSS ${Math.round((memoryOf(pid)?.rss ?? 0) / 2 ** 20)} MB`);
      }
    } catch (error) {
      if (!timedOut) throw error;
    } finally {
      clearTimeout(timer);
    }
  });
  const elapsed = seconds();
  const sampled = sampler.stop();
  const peak = peakReset ? Math.max(memoryOf(pid)?.peak ?? 0, sampled) : sampled;
  const rate = lines / elapsed;
  const ratio = ratioOf(rate, copyRate);
  const peakMb = peak / 2 ** 20;
  const complete = !timedOut && lines >= data.lines;
  stack.record({
    name: `statement CSV (${data.lines.toLocaleString('en-US')} lines): speed`,
    ours: round(rate),
    baseline: round(copyRate),
    ratio,
    target: `≥ ${RATIO_TARGET}× COPY`,
    pass: complete && ratio !== null && ratio >= RATIO_TARGET,
    unit: 'lines/s',
    note: `ours ${lines} lines (${round(bytes / 2 ** 20)} MB) in ${round(elapsed, 1)} s${timedOut ? ` — stopped there (the limit is ${Math.round(timeoutMs / 1000)} s, or 30 s below a tenth of COPY's speed): the rate is over the lines received` : ''}; COPY ${copy.lines - 1} rows (${round(copy.bytes / 2 ** 20)} MB) in ${round(copy.seconds, 2)} s`,
  });
  stack.record({
    name: `statement CSV (${data.lines.toLocaleString('en-US')} lines): peak RSS`,
    ours: round(peakMb),
    baseline: null,
    ratio: null,
    target: `≤ ${RSS_TARGET_MB} MB`,
    // A peak over part of the export says nothing of the whole one.
    pass: complete ? peakMb <= RSS_TARGET_MB : null,
    unit: 'MB',
    note: `API process RSS ${round(rssBefore / 2 ** 20)} MB before the export${peakReset ? '' : ' (peak from 50 ms samples: /proc clear_refs not allowed)'}${complete ? '' : `; the export did not complete (${lines} lines): peak over the part received`}`,
  });
}
