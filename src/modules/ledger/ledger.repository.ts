import { EntityManager } from 'typeorm';

/** An affiliate a payout run may pay in a currency, as the ledger sees it (amounts as bigint strings). */
export interface PayoutCandidateRow {
  affiliateId: string;
  stripeAccountId: string;
  amount: string;
  clawbackNetted: string;
  threshold: string;
}

/** Affiliates due a payout in `currency`: payouts enabled, active, available − clawback ≥ threshold. */
const PAYOUT_CANDIDATES = `
  SELECT p.id AS "affiliateId", pa.stripe_account_id AS "stripeAccountId",
         (-av.balance - coalesce(cb.balance, 0))::bigint AS amount, coalesce(cb.balance, 0)::bigint AS "clawbackNetted",
         coalesce(p.payout_threshold, $2)::bigint AS threshold
    FROM principals p
    JOIN payout_accounts pa ON pa.affiliate_id = p.id AND pa.payouts_enabled
    JOIN ledger_accounts av ON av.owner_id = p.id AND av.type = 'affiliate_available' AND av.currency = $1
    LEFT JOIN ledger_accounts cb ON cb.owner_id = p.id AND cb.type = 'affiliate_clawback' AND cb.currency = $1
   WHERE p.role = 'affiliate' AND p.status = 'active'
     AND (-av.balance - coalesce(cb.balance, 0)) >= greatest(coalesce(p.payout_threshold, $2), 1)`;

/**
 * Every query other modules run on `ledger_accounts`, `journal_entries` and `journal_lines` (the
 * ledger owns its tables: see ARCHITECTURE.md); money still moves only through LedgerService.post.
 * Stateless, like ConversionsRepository: each method runs on the caller's manager and transaction.
 */
export class LedgerRepository {
  /** The kinds already posted for each cause of `causeType` among `causeIds`. */
  async postedKinds(manager: EntityManager, causeType: string, causeIds: string[]): Promise<Map<string, Set<string>>> {
    const rows: { cause_id: string; kind: string }[] = await manager.query(
      `SELECT cause_id, kind FROM journal_entries WHERE cause_type = $1 AND cause_id = ANY($2::text[])`,
      [causeType, causeIds],
    );
    const byCause = new Map<string, Set<string>>();
    for (const r of rows) byCause.set(r.cause_id, (byCause.get(r.cause_id) ?? new Set<string>()).add(r.kind));
    return byCause;
  }

  /** Affiliates due a payout in `currency` (ordered by id), `defaultThreshold` where they set none. */
  payoutCandidates(manager: EntityManager, currency: string, defaultThreshold: number): Promise<PayoutCandidateRow[]> {
    return manager.query(`${PAYOUT_CANDIDATES} ORDER BY p.id`, [currency, defaultThreshold]);
  }
}

export const ledgerRepository = new LedgerRepository();
