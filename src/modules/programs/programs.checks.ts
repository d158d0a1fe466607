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
const conversionEntry = (kind: string) => `EXISTS (SELECT 1 FROM journal_entries e WHERE e.cause_type = 'conversion' AND e.cause_id = c.id::text AND e.kind = '${kind}')`;

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
  noRowsCheck<{ id: string; amount: string; status: string }>(
    'every posted prepaid top-up is in the funds once, for its amount; a pending one (its Stripe invoice unpaid) not at all',
    `SELECT f.id, f.amount::text AS amount, f.status FROM advertiser_fundings f
      WHERE (SELECT coalesce(-sum(l.amount), 0) FROM journal_entries e JOIN journal_lines l ON l.entry_id = e.id JOIN ledger_accounts x ON x.id = l.account_id
              WHERE e.cause_type = 'funding' AND e.cause_id = f.id::text AND e.kind = 'funding' AND x.type = 'advertiser_funds')
            <> CASE WHEN f.status = 'posted' THEN f.amount ELSE 0 END`,
    (r) => `top-up ${r.id} (${r.status}) of ${r.amount}: the advertiser's funds do not hold what its status says`,
  ),
  noRowsCheck<{ id: string; status: string }>(
    'no prepaid conversion is approved beyond the funds: an approved one spent its reserve, a held one is never approved',
    `SELECT c.id, c.status FROM conversions c
      WHERE c.prepaid AND c.revenue > 0 AND c.status IN ('approved', 'paid')
        AND (c.hold IS NOT NULL OR NOT ${conversionEntry('funding_reserve')} OR NOT ${conversionEntry('funding_spend')})`,
    (r) => `conversion ${r.id} is ${r.status} without its reserve spent`,
  ),
  noRowsCheck<{ id: string; status: string }>(
    'a prepaid conversion not held has its revenue reserved; one that ended gave it back',
    `SELECT c.id, c.status FROM conversions c
      WHERE c.prepaid AND c.revenue > 0 AND (
            (c.status IN ('pending', 'approved', 'paid') AND c.hold IS NULL AND NOT ${conversionEntry('funding_reserve')})
         OR (c.status IN ('rejected', 'reversed') AND ${conversionEntry('funding_reserve')}
             AND NOT ${conversionEntry('funding_release')} AND NOT ${conversionEntry('funding_refund')})
         OR (c.status IN ('rejected', 'reversed') AND ${conversionEntry('funding_spend')} AND NOT ${conversionEntry('funding_refund')}))`,
    (r) => `conversion ${r.id} (${r.status}) does not match its funding entries`,
  ),
];
