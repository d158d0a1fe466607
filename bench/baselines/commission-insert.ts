import type { Pool } from 'pg';

const NIL = `'00000000-0000-0000-0000-000000000000'::uuid`;
export const BATCH = 1000;

/** The accounts the commissions need, as the app keys them (type, owner, currency). */
const ACCOUNTS = `
  INSERT INTO ledger_accounts (type, owner_id, currency)
  SELECT DISTINCT x.type, x.owner_id, c.currency
    FROM conversions c
   CROSS JOIN LATERAL (VALUES ('advertiser_receivable', c.advertiser_id), ('affiliate_pending', c.affiliate_id), ('network_margin', NULL::uuid)) AS x(type, owner_id)
   WHERE c.id = ANY($1::uuid[])
  ON CONFLICT (type, (COALESCE(owner_id, ${NIL})), currency) DO NOTHING`;

/**
 * The commission entries of a batch of conversions in one statement: the entries, their lines
 * (Dr receivable R, Cr affiliate pending P, Cr margin R − P, zero lines left out) and the
 * accounts' cached balances, the rows the app's commission job writes one conversion at a time.
 */
const POST_BATCH = `
  WITH c AS (
    SELECT id, advertiser_id, affiliate_id, currency, revenue, payout, goal_key, txn_id FROM conversions WHERE id = ANY($1::uuid[])
  ), e AS (
    INSERT INTO journal_entries (kind, cause_type, cause_id, memo)
    SELECT 'commission', 'conversion', c.id::text, c.goal_key || ' ' || c.txn_id FROM c
    RETURNING id, kind, effective_at, cause_id
  ), l AS (
    INSERT INTO journal_lines (entry_id, kind, effective_at, account_id, currency, amount)
    SELECT e.id, e.kind, e.effective_at, a.id, c.currency, x.amount
      FROM e JOIN c ON c.id::text = e.cause_id
     CROSS JOIN LATERAL (VALUES ('advertiser_receivable', c.advertiser_id, c.revenue),
                                ('affiliate_pending', c.affiliate_id, -c.payout),
                                ('network_margin', NULL::uuid, c.payout - c.revenue)) AS x(type, owner_id, amount)
      JOIN ledger_accounts a ON a.type = x.type AND COALESCE(a.owner_id, ${NIL}) = COALESCE(x.owner_id, ${NIL}) AND a.currency = c.currency
     WHERE x.amount <> 0
    RETURNING account_id, amount
  )
  UPDATE ledger_accounts a SET balance = a.balance + d.delta
    FROM (SELECT account_id, sum(amount) AS delta FROM l GROUP BY account_id) d
   WHERE a.id = d.account_id`;

/**
 * Baseline for commission posting: the same ledger rows the commission jobs will write for
 * `conversionIds`, as batched INSERTs in one transaction. The deferred balance triggers run
 * (SET CONSTRAINTS ALL IMMEDIATE), then the transaction rolls back so the app can post the same
 * conversions next; a commit would add one WAL flush. Answers the seconds it took.
 */
export async function rawCommissionInsert(pool: Pool, conversionIds: string[], onProgress?: (done: number) => void): Promise<number> {
  const client = await pool.connect();
  try {
    const started = process.hrtime.bigint();
    await client.query('BEGIN');
    await client.query(ACCOUNTS, [conversionIds]);
    for (let i = 0; i < conversionIds.length; i += BATCH) {
      await client.query(POST_BATCH, [conversionIds.slice(i, i + BATCH)]);
      onProgress?.(Math.min(i + BATCH, conversionIds.length));
    }
    await client.query('SET CONSTRAINTS ALL IMMEDIATE');
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const [{ n }] = (
      await client.query(`SELECT count(*)::int AS n FROM journal_entries WHERE cause_type = 'conversion' AND cause_id = ANY($1::text[]) AND kind = 'commission'`, [conversionIds])
    ).rows;
    await client.query('ROLLBACK');
    if (n !== conversionIds.length) throw new Error(`the baseline posted ${n} entries for ${conversionIds.length} conversions`);
    return seconds;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}
