import type { LedgerCheck } from '../ledger/ledger.verify';

interface Breach {
  id: string;
  status: string;
}

/** One invariant between conversions and the ledger: `sql` selects the breaches. */
function conversionCheck(name: string, sql: string): LedgerCheck {
  const check: LedgerCheck = async (manager) => {
    const rows: Breach[] = await manager.query(`${sql} LIMIT 6`);
    if (!rows.length) return { name, ok: true };
    return { name, ok: false, detail: rows.slice(0, 5).map((r) => `conversion ${r.id} (${r.status})`).join('; ') + (rows.length > 5 ? '; and more' : '') };
  };
  return check;
}

const entry = (kind: string) => `EXISTS (SELECT 1 FROM journal_entries e WHERE e.cause_type = 'conversion' AND e.cause_id = c.id::text AND e.kind = '${kind}')`;

/**
 * Conversions against the ledger. Run them when the queues are idle: a conversion accepted a
 * moment ago has its entries once its commission job has run.
 */
export const COMMISSION_CHECKS: LedgerCheck[] = [
  conversionCheck(
    'every accepted conversion has its commission entry',
    `SELECT c.id, c.status FROM conversions c WHERE c.status IN ('pending', 'approved', 'paid') AND c.affiliate_id IS NOT NULL AND NOT ${entry('commission')}`,
  ),
  conversionCheck(
    'every approved or paid conversion has its approval entry',
    `SELECT c.id, c.status FROM conversions c WHERE c.status IN ('approved', 'paid') AND c.affiliate_id IS NOT NULL AND NOT ${entry('approval')}`,
  ),
  conversionCheck(
    'no pending conversion has an approval or a reversal',
    `SELECT c.id, c.status FROM conversions c WHERE c.status = 'pending' AND (${entry('approval')} OR ${entry('reversal')})`,
  ),
  conversionCheck(
    'no rejected, reversed or unattributed conversion keeps money: a commission has its reversal',
    `SELECT c.id, c.status FROM conversions c WHERE c.status IN ('rejected', 'reversed', 'unattributed') AND ${entry('commission')} AND NOT ${entry('reversal')}`,
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
