import { DataSource, EntityManager } from 'typeorm';
import { ACCOUNT_OWNER_ROLE } from './ledger-account.entity';

export interface LedgerCheckResult {
  name: string;
  ok: boolean;
  detail?: string;
}

/**
 * A check over the whole database. It gets the verification's read-only REPEATABLE READ
 * transaction, so every check of one run sees the same snapshot (use `manager.query`).
 */
export type LedgerCheck = (manager: EntityManager) => Promise<LedgerCheckResult>;

export interface LedgerVerification {
  ok: boolean;
  checks: LedgerCheckResult[];
}

const SHOWN = 5;

/** A check that passes when `sql` finds no row; each row found is one breach (the first few are named). */
export function noRowsCheck<R>(name: string, sql: string, describe: (row: R) => string): LedgerCheck {
  return async (manager) => {
    const rows: R[] = await manager.query(`${sql} LIMIT ${SHOWN + 1}`);
    if (!rows.length) return { name, ok: true };
    const shown = rows.slice(0, SHOWN).map(describe).join('; ');
    return { name, ok: false, detail: rows.length > SHOWN ? `${shown}; and more` : shown };
  };
}

interface AccountRow {
  id: string;
  type: string;
  owner_id: string | null;
  currency: string;
}
const account = (r: AccountRow) => `account ${r.id} (${r.type}${r.owner_id ? ` of ${r.owner_id}` : ''}, ${r.currency})`;

const GUARD_TRIGGERS = ['journal_entries_append_only', 'journal_lines_append_only', 'journal_entries_balanced', 'journal_lines_balanced', 'ledger_accounts_fixed'];

const CORE_CHECKS: LedgerCheck[] = [
  noRowsCheck<{ entry_id: string; currency: string; total: string }>(
    'every entry balances per currency',
    `SELECT entry_id, currency, sum(amount)::text AS total FROM journal_lines GROUP BY entry_id, currency HAVING sum(amount) <> 0`,
    (r) => `entry ${r.entry_id} sums to ${r.total} ${r.currency}`,
  ),
  noRowsCheck<{ id: string; lines: string }>(
    'every entry has at least two lines',
    `SELECT e.id, count(l.id)::text AS lines FROM journal_entries e LEFT JOIN journal_lines l ON l.entry_id = e.id GROUP BY e.id HAVING count(l.id) < 2`,
    (r) => `entry ${r.id} has ${r.lines} line(s)`,
  ),
  noRowsCheck<AccountRow & { cached: string; lines: string }>(
    'every cached balance equals the sum of its lines',
    `SELECT a.id, a.type, a.owner_id, a.currency, a.balance::text AS cached, COALESCE(s.total, 0)::text AS lines
     FROM ledger_accounts a LEFT JOIN (SELECT account_id, sum(amount) AS total FROM journal_lines GROUP BY account_id) s ON s.account_id = a.id
     WHERE a.balance <> COALESCE(s.total, 0)`,
    (r) => `${account(r)} caches ${r.cached} but its lines sum to ${r.lines}`,
  ),
  noRowsCheck<{ line_id: string; line_currency: string; account_id: string; account_currency: string }>(
    'every line is in its account’s currency',
    `SELECT l.id::text AS line_id, l.currency AS line_currency, a.id AS account_id, a.currency AS account_currency
     FROM journal_lines l JOIN ledger_accounts a ON a.id = l.account_id WHERE l.currency <> a.currency`,
    (r) => `line ${r.line_id} is in ${r.line_currency} on account ${r.account_id} in ${r.account_currency}`,
  ),
  noRowsCheck<AccountRow & { total: string }>(
    'no affiliate balance is on the wrong side (pending and available never debits, clawback never a credit)',
    `SELECT a.id, a.type, a.owner_id, a.currency, s.total::text AS total
     FROM ledger_accounts a JOIN (SELECT account_id, sum(amount) AS total FROM journal_lines GROUP BY account_id) s ON s.account_id = a.id
     WHERE (a.type IN ('affiliate_pending', 'affiliate_available') AND s.total > 0) OR (a.type = 'affiliate_clawback' AND s.total < 0)`,
    (r) => `${account(r)} has a balance of ${r.total} (debit positive)`,
  ),
  noRowsCheck<{ currency: string; lines: string; cached: string }>(
    'money is conserved: lines and cached balances each sum to zero per currency',
    `SELECT currency, sum(lines)::text AS lines, sum(cached)::text AS cached FROM (
       SELECT currency, amount AS lines, 0 AS cached FROM journal_lines
       UNION ALL SELECT currency, 0, balance FROM ledger_accounts) m
     GROUP BY currency HAVING sum(lines) <> 0 OR sum(cached) <> 0`,
    (r) => `${r.currency}: lines sum to ${r.lines}, cached balances to ${r.cached}`,
  ),
  noRowsCheck<AccountRow & { role: string | null }>(
    'every owned account belongs to a principal of the right role',
    `SELECT a.id, a.type, a.owner_id, a.currency, p.role FROM ledger_accounts a LEFT JOIN principals p ON p.id = a.owner_id
     WHERE a.owner_id IS NOT NULL AND p.role IS DISTINCT FROM ('${JSON.stringify(ACCOUNT_OWNER_ROLE)}'::jsonb ->> a.type)`,
    (r) => `${account(r)} is owned by ${r.role ? `an ${r.role}` : 'nobody'}`,
  ),
  noRowsCheck<{ name: string }>(
    'the append-only and balance triggers are in place and enabled',
    `SELECT name FROM unnest('{${GUARD_TRIGGERS.join(',')}}'::text[]) AS name
     WHERE NOT EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgname = name AND t.tgenabled <> 'D')`,
    (r) => `trigger ${r.name} is missing or disabled`,
  ),
];

async function runCheck(manager: EntityManager, check: LedgerCheck): Promise<LedgerCheckResult> {
  // A failing check must not abort the transaction the other checks still need.
  await manager.query('SAVEPOINT ledger_check');
  try {
    const result = await check(manager);
    await manager.query('RELEASE SAVEPOINT ledger_check');
    return result;
  } catch (error) {
    await manager.query('ROLLBACK TO SAVEPOINT ledger_check');
    return { name: check.name || 'an extra check', ok: false, detail: `could not run: ${(error as Error).message}` };
  }
}

/**
 * Runs every invariant of the ledger on one snapshot, then `extraChecks`: how other features
 * (conversions against their entries, payouts against Stripe) add theirs without editing this file.
 */
export async function verifyLedger(dataSource: DataSource, extraChecks: LedgerCheck[] = []): Promise<LedgerVerification> {
  const checks = [...CORE_CHECKS, ...extraChecks];
  return dataSource.transaction('REPEATABLE READ', async (manager) => {
    await manager.query('SET TRANSACTION READ ONLY');
    const results: LedgerCheckResult[] = [];
    for (const check of checks) results.push(await runCheck(manager, check));
    return { ok: results.every((r) => r.ok), checks: results };
  });
}

/** The report the CLI prints: one line per check, and last the first breach, if any. */
export function formatVerification(result: LedgerVerification): string[] {
  const lines = result.checks.map((c) => `${c.ok ? '✓' : '✗'} ${c.name}${c.ok || !c.detail ? '' : `: ${c.detail}`}`);
  const breach = result.checks.find((c) => !c.ok);
  lines.push(breach ? `ledger verification FAILED: ${breach.name}` : `ledger verified: ${result.checks.length} checks passed`);
  return lines;
}
