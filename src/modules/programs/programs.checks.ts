import { LedgerCheck, noRowsCheck } from '../ledger/ledger.verify';

const entryOf = (kind: string) => `(SELECT e.id FROM journal_entries e WHERE e.cause_type = 'bonus_award' AND e.cause_id = a.id::text AND e.kind = '${kind}')`;
/** What an entry of an award moved on the advertiser's receivable (debit positive). */
const receivableOf = (kind: string) => `
  (SELECT coalesce(sum(l.amount), 0) FROM journal_entries e JOIN journal_lines l ON l.entry_id = e.id JOIN ledger_accounts x ON x.id = l.account_id
    WHERE e.cause_type = 'bonus_award' AND e.cause_id = a.id::text AND e.kind = '${kind}' AND x.type = 'advertiser_receivable')`;

/**
 * The commission programs against the ledger (`npm run ledger:verify`): every award has its
 * `bonus` entry for its amount, a clawed-back award its `bonus_clawback` for the same amount and
 * an earned one none, and no bonus entry lacks its award.
 */
export const PROGRAMS_CHECKS: LedgerCheck[] = [
  noRowsCheck<{ id: string; amount: string; posted: string }>(
    'every bonus award is posted once, for its amount, billed to the advertiser',
    `SELECT a.id, a.amount::text AS amount, ${receivableOf('bonus')}::text AS posted FROM bonus_awards a
      WHERE ${entryOf('bonus')} IS NULL OR ${receivableOf('bonus')} <> a.amount`,
    (r) => `award ${r.id} of ${r.amount} has ${r.posted} posted to the advertiser's receivable`,
  ),
  noRowsCheck<{ id: string; status: string }>(
    'a clawed-back bonus has its clawback entry for its amount, an earned one none',
    `SELECT a.id, a.status FROM bonus_awards a
      WHERE (a.status = 'clawed_back') <> (${entryOf('bonus_clawback')} IS NOT NULL)
         OR (a.status = 'clawed_back' AND ${receivableOf('bonus_clawback')} <> -a.amount)`,
    (r) => `award ${r.id} is ${r.status} but its clawback entry says otherwise`,
  ),
  noRowsCheck<{ id: string; cause_id: string }>(
    'every bonus entry has its award',
    `SELECT e.id, e.cause_id FROM journal_entries e
      WHERE e.cause_type = 'bonus_award' AND NOT EXISTS (SELECT 1 FROM bonus_awards a WHERE a.id::text = e.cause_id)`,
    (r) => `entry ${r.id} names award ${r.cause_id}, which does not exist`,
  ),
];
