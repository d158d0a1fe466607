import { LedgerCheck, noRowsCheck } from '../ledger/ledger.verify';

interface Breach {
  id: string;
  status: string;
}

/** One invariant between conversions and the ledger: `sql` selects the breaches. */
function conversionCheck(name: string, sql: string): LedgerCheck {
  const check: LedgerCheck = async (manager) => {
    const rows: Breach[] = await manager.query(`${sql} LIMIT 6`);
    if (!rows.length) return { name, ok: true };
    return {
      name,
      ok: false,
      detail:
        rows
          .slice(0, 5)
          .map((r) => `conversion ${r.id} (${r.status})`)
          .join('; ') + (rows.length > 5 ? '; and more' : ''),
    };
  };
  return check;
}

const entry = (kind: string) => `EXISTS (SELECT 1 FROM journal_entries e WHERE e.cause_type = 'conversion' AND e.cause_id = c.id::text AND e.kind = '${kind}')`;

/**
 * The sweeper's look-up: conversions untouched for `graceSeconds` whose status says an entry the
 * ledger does not have (the conditions of the checks below), at most `limit`, in id order.
 */
export function missingPostingsQuery(graceSeconds: number, limit: number): string {
  return `
  SELECT c.id FROM conversions c
   WHERE c.affiliate_id IS NOT NULL AND c.currency IS NOT NULL AND c.updated_at < now() - make_interval(secs => ${graceSeconds})
     AND ((c.status IN ('pending', 'approved', 'paid') AND NOT ${entry('commission')})
       OR (c.status IN ('approved', 'paid') AND NOT ${entry('approval')})
       OR (c.status IN ('rejected', 'reversed') AND ${entry('commission')} AND NOT ${entry('reversal')}))
   ORDER BY c.id LIMIT ${limit}`;
}

/**
 * Conversions against the ledger. Run them when the queues are idle: a conversion accepted a
 * moment ago has its entries once its commission job has run.
 */
/**
 * Money an affiliate owes sits on affiliate_clawback; its available balance never goes below
 * zero (the database refuses it: ledger_accounts_available_not_negative, which must be in place
 * and validated).
 */
function availableNeverNegative(): LedgerCheck[] {
  return [
    noRowsCheck<{ id: string; owner_id: string; currency: string; balance: string }>(
      'no available balance is below zero: what an affiliate owes is a clawback',
      `SELECT a.id, a.owner_id, a.currency, a.balance::text AS balance FROM ledger_accounts a WHERE a.type = 'affiliate_available' AND a.balance > 0`,
      (r) => `available account ${r.id} of ${r.owner_id} is ${r.balance} ${r.currency} below zero`,
    ),
    noRowsCheck<{ name: string }>(
      'the database guard on available balances is in place and validated',
      `SELECT 'ledger_accounts_available_not_negative' AS name WHERE NOT EXISTS (
         SELECT 1 FROM pg_constraint WHERE conname = 'ledger_accounts_available_not_negative' AND convalidated)`,
      (r) => `constraint ${r.name} is missing or not validated`,
    ),
  ];
}

/** Each conversion's entries say what its status says: the affiliate's accounts hold its payout exactly while it is accepted. */
function postingsMatchStatus(): LedgerCheck[] {
  return [
    conversionCheck(
      'no accepted conversion has a reversal entry',
      `SELECT c.id, c.status FROM conversions c WHERE c.status IN ('pending', 'approved', 'paid') AND ${entry('reversal')}`,
    ),
    conversionCheck(
      "a conversion's entries leave its affiliate its payout while accepted, nothing once rejected or reversed",
      // One grouped pass over the conversions joined to their entries, with the comparison in HAVING:
      // a correlated sum per conversion, or a join of a grouped CTE under LIMIT, let the planner pick
      // a nested loop that goes quadratic (80 s for 4 000 conversions on a fresh database, hours for
      // the bench's million).
      `SELECT c.id, c.status FROM conversions c
         JOIN journal_entries e ON e.cause_type = 'conversion' AND e.cause_id = c.id::text
         JOIN journal_lines l ON l.entry_id = e.id JOIN ledger_accounts a ON a.id = l.account_id
        WHERE c.affiliate_id IS NOT NULL
        GROUP BY c.id, c.status, c.payout
       HAVING bool_or(e.kind = 'commission')
          AND coalesce(-sum(l.amount) FILTER (WHERE a.type IN ('affiliate_pending', 'affiliate_available', 'affiliate_clawback')), 0)
              <> CASE WHEN c.status IN ('pending', 'approved', 'paid') THEN c.payout ELSE 0 END`,
    ),
  ];
}

/**
 * The checks of conversions against the ledger. `graceSeconds` leaves out conversions changed
 * that recently (LEDGER_VERIFY_GRACE_SECONDS): their entries may still be on their way through the
 * outbox and the commission job, or, on a replica, through replication. 0 checks everything.
 */
export function commissionChecks(graceSeconds = 0): LedgerCheck[] {
  const settled = graceSeconds > 0 ? ` AND c.updated_at < now() - make_interval(secs => ${Math.floor(graceSeconds)})` : '';
  return [
    ...availableNeverNegative(),
    ...postingsMatchStatus(),
    conversionCheck(
      'every accepted conversion has its commission entry',
      `SELECT c.id, c.status FROM conversions c WHERE c.status IN ('pending', 'approved', 'paid') AND c.affiliate_id IS NOT NULL AND NOT ${entry('commission')}${settled}`,
    ),
    conversionCheck(
      'every approved or paid conversion has its approval entry',
      `SELECT c.id, c.status FROM conversions c WHERE c.status IN ('approved', 'paid') AND c.affiliate_id IS NOT NULL AND NOT ${entry('approval')}${settled}`,
    ),
    conversionCheck(
      'no pending conversion has an approval or a reversal',
      `SELECT c.id, c.status FROM conversions c WHERE c.status = 'pending' AND (${entry('approval')} OR ${entry('reversal')})`,
    ),
    conversionCheck(
      'no rejected, reversed or unattributed conversion keeps money: a commission has its reversal',
      `SELECT c.id, c.status FROM conversions c WHERE c.status IN ('rejected', 'reversed', 'unattributed') AND ${entry('commission')} AND NOT ${entry('reversal')}${settled}`,
    ),
    conversionCheck(
      "each commission entry carries the conversion's revenue and payout",
      `SELECT c.id, c.status FROM conversions c
       JOIN journal_entries e ON e.cause_type = 'conversion' AND e.cause_id = c.id::text AND e.kind = 'commission'
      WHERE (SELECT coalesce(sum(l.amount) FILTER (WHERE l.amount > 0 AND a.type = 'advertiser_receivable'), 0)
               FROM journal_lines l JOIN ledger_accounts a ON a.id = l.account_id WHERE l.entry_id = e.id) <> c.revenue
         OR (SELECT coalesce(-sum(l.amount) FILTER (WHERE a.type = 'affiliate_pending'), 0)
               FROM journal_lines l JOIN ledger_accounts a ON a.id = l.account_id WHERE l.entry_id = e.id) <> c.payout`,
    ),
  ];
}

export const COMMISSION_CHECKS: LedgerCheck[] = commissionChecks();
