import { waitFor } from '../lib/proc';
import { ratioOf, round } from '../lib/results';
import type { Stack } from '../lib/stack';
import { createLink, Network } from './seed';

const ROWS = 10_000;
const QUICK_ROWS = 1_000;
const BATCH = 1_000;
/** The quality job runs every 5 s; it must be due when the measured rows are in. */
const JOB_EVERY_MS = 5_000;

/**
 * Traffic quality: scoring 10 000 conversions (README, "Traffic quality"). Prepared with SQL: one
 * click per conversion in the last hour (some from one address, some on one sub id, customer ids
 * partly shared across affiliates). The baseline inserts the conversion rows raw, in batches of
 * 1 000; ours inserts the same rows unchecked and times the quality job (run by the worker) until
 * every one has its completed score. Both sets are deleted afterwards (no ledger entry is made for
 * them: the maintenance queue, whose sweeper would post their commissions, runs only while measured).
 */
export async function qualityWorkload(stack: Stack, network: Network): Promise<void> {
  const rows = stack.options.quick ? QUICK_ROWS : ROWS;
  const maintenance = stack.queue('maintenance');
  const links = await Promise.all(network.affiliates.map((a) => createLink(stack, a, network.offer.id)));
  const tag = `BQ${Date.now().toString(36)}`;

  stack.progress.phase(`quality scoring: preparing ${rows} clicks`);
  await maintenance.pause();
  await stack.db.query(
    `INSERT INTO clicks (id, clicked_at, link_id, offer_id, affiliate_id, advertiser_id, channel, sub1, ip, user_agent, is_unique, status, country, risk_score, risk_reasons)
     SELECT $1 || '-' || g, now() - (g % 3000) * interval '1 second', l.id, l.offer_id, l.affiliate_id, o.advertiser_id, l.channel,
            CASE WHEN g % 10 = 0 THEN 'hot' ELSE 'sub' || (g % 50) END,
            CASE WHEN g % 20 = 0 THEN '5.101.96.9'::inet ELSE ('81.2.' || (g / 250 % 250) || '.' || (g % 250 + 1))::inet END,
            'Mozilla/5.0', true, 'ok', 'GB', 0, '[]'::jsonb
       FROM generate_series(1, $2::int) g
       JOIN tracking_links l ON l.id = ($3::uuid[])[1 + g % array_length($3::uuid[], 1)]
       JOIN offers o ON o.id = l.offer_id`,
    [tag, rows, links.map((l) => l.id)],
  );

  const insertConversions = async (prefix: string, checked: boolean) => {
    for (let from = 1; from <= rows; from += BATCH) {
      await stack.db.query(
        `INSERT INTO conversions (advertiser_id, offer_id, goal_key, affiliate_id, link_id, click_id, clicked_at, attributed_by, customer_id, txn_id,
                                  currency, revenue, payout, status, source, approve_after, risk_score, risk_reasons, risk_checked_at)
         SELECT k.advertiser_id, k.offer_id, 'lead', k.affiliate_id, k.link_id, k.id, k.clicked_at, 'click', 'cust-' || (g % 7000), $2 || '-' || g,
                'USD', 500, 300, 'pending', 'api', now() + interval '30 days', 0, '[]'::jsonb, CASE WHEN $5 THEN now() END
           FROM generate_series($3::int, $4::int) g JOIN clicks k ON k.id = $1 || '-' || g AND k.clicked_at > now() - interval '1 hour'`,
        [tag, prefix, from, Math.min(rows, from + BATCH - 1), checked],
      );
    }
  };

  try {
    stack.progress.phase(`quality scoring: baseline (raw INSERT of ${rows} conversions)`);
    let started = process.hrtime.bigint();
    await insertConversions(`${tag}-raw`, true);
    const baseSeconds = Number(process.hrtime.bigint() - started) / 1e9;

    stack.progress.phase(`quality scoring: ours (the quality job scores ${rows} conversions)`);
    await insertConversions(`${tag}-scored`, false);
    await new Promise((resolve) => setTimeout(resolve, JOB_EVERY_MS + 500));
    const unchecked = async () =>
      (await stack.db.query(`SELECT count(*)::int AS n FROM conversions WHERE risk_checked_at IS NULL AND txn_id LIKE $1`, [`${tag}-scored-%`])).rows[0].n as number;
    started = process.hrtime.bigint();
    await maintenance.resume();
    await waitFor(
      'the quality job',
      async () => {
        const left = await unchecked();
        stack.progress.update(`${rows - left}/${rows} scored`);
        return left === 0;
      },
      stack.options.quick ? 60_000 : 600_000,
      50,
      stack.worker,
    );
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const [{ held }] = (await stack.db.query(`SELECT count(*) FILTER (WHERE hold = 'review')::int AS held FROM conversions WHERE txn_id LIKE $1`, [`${tag}-scored-%`])).rows;
    const rate = rows / seconds;
    const baseRate = rows / baseSeconds;
    stack.record({
      name: 'quality scoring (conversions → risk)',
      ours: round(rate),
      baseline: round(baseRate),
      ratio: ratioOf(rate, baseRate),
      target: 'recorded',
      pass: null,
      unit: 'conv/s',
      note: `${rows} conversions: scored in ${round(seconds, 2)} s (${held} held), raw insert ${round(baseSeconds, 2)} s`,
    });
  } finally {
    await maintenance.pause();
    await stack.db.query(`DELETE FROM conversions WHERE txn_id LIKE $1`, [`${tag}-%`]);
    await stack.db.query(`DELETE FROM clicks WHERE id LIKE $1`, [`${tag}-%`]);
    await maintenance.resume();
  }
}
