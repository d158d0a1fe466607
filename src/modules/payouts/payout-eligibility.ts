/** A destination payouts are enabled on. */
export interface EnabledDestination {
  affiliateId: string;
  rail: string;
  externalAccountId: string;
}

/** An affiliate a payout run may pay, with the threshold its balance must reach. */
export interface PayableAffiliate extends EnabledDestination {
  threshold: number;
}

/** An affiliate's balance as the ledger reports it for a run (amounts as bigint strings). */
export interface CandidateBalance {
  affiliateId: string;
  amount: string;
  clawbackNetted: string;
}

/** An affiliate due a payout: what its rail can carry of what it is owed. */
export interface EligiblePayee extends PayableAffiliate {
  amount: number;
  clawbackNetted: number;
}

/**
 * The affiliates a payout run may ask the ledger about: payouts enabled on their destination
 * and active (`thresholds` holds the active ones, with their own threshold or null for
 * `defaultThreshold`).
 */
export function payableAffiliates(destinations: EnabledDestination[], thresholds: ReadonlyMap<string, number | null>, defaultThreshold: number): PayableAffiliate[] {
  return destinations.filter((d) => thresholds.has(d.affiliateId)).map((d) => ({ ...d, threshold: thresholds.get(d.affiliateId) ?? defaultThreshold }));
}

/**
 * Of the ledger's candidates, those still due once the rail rounds the amount to what it can
 * carry (`carriable`: the rest stays in the balance), at least their threshold and never zero.
 * In the candidates' order.
 */
export function eligiblePayees(candidates: CandidateBalance[], payable: PayableAffiliate[], carriable: (rail: string, amount: number) => number): EligiblePayee[] {
  const byId = new Map(payable.map((p) => [p.affiliateId, p]));
  return candidates.flatMap((c) => {
    const affiliate = byId.get(c.affiliateId);
    if (!affiliate) return [];
    const amount = carriable(affiliate.rail, Number(c.amount));
    return amount >= Math.max(affiliate.threshold, 1) ? [{ ...affiliate, amount, clawbackNetted: Number(c.clawbackNetted) }] : [];
  });
}
