import type { ErrorDetail } from '../../common/errors';
import type { RateRule } from '../../common/money';

interface GoalInput {
  key: string;
  revenue: RateRule;
  payout: RateRule;
  overrides?: { affiliateId: string; payout: RateRule }[];
}

/** The affiliate may not earn more than the advertiser pays, where the two rules can be compared. */
function exceedsRevenue(payout: RateRule, revenue: RateRule): boolean {
  if (payout.type === 'flat' && revenue.type === 'flat') return payout.amount > revenue.amount;
  if (payout.type === 'percent' && revenue.type === 'percent') return payout.bps > revenue.bps;
  return false;
}

/** The margin of a goal where revenue and payout share a type; null where it depends on the sale. */
export function goalMargin(revenue: RateRule, payout: RateRule): RateRule | null {
  if (revenue.type === 'flat' && payout.type === 'flat') return { type: 'flat', amount: revenue.amount - payout.amount };
  if (revenue.type === 'percent' && payout.type === 'percent') return { type: 'percent', bps: revenue.bps - payout.bps };
  return null;
}

/** Checks a goal set as a whole; returns one detail per problem (empty when fine). */
export function checkGoals(goals: GoalInput[]): ErrorDetail[] {
  const problems: ErrorDetail[] = [];
  const seen = new Set<string>();
  goals.forEach((goal, i) => {
    if (seen.has(goal.key)) problems.push({ field: `goals.${i}.key`, message: `goal key "${goal.key}" appears twice` });
    seen.add(goal.key);
    if (exceedsRevenue(goal.payout, goal.revenue)) {
      problems.push({ field: `goals.${i}.payout`, message: `the payout of goal "${goal.key}" exceeds its revenue` });
    }
    const affiliates = new Set<string>();
    (goal.overrides ?? []).forEach((override, j) => {
      if (affiliates.has(override.affiliateId)) {
        problems.push({ field: `goals.${i}.overrides.${j}.affiliateId`, message: 'an affiliate may have one override per goal' });
      }
      affiliates.add(override.affiliateId);
      if (exceedsRevenue(override.payout, goal.revenue)) {
        problems.push({ field: `goals.${i}.overrides.${j}.payout`, message: `the override payout of goal "${goal.key}" exceeds its revenue` });
      }
    });
  });
  return problems;
}

/** Stores exactly the rule's own fields, whatever else the input carried. */
export function normalizeRule(rule: { type: 'flat' | 'percent'; amount?: number; bps?: number }): RateRule {
  return rule.type === 'flat' ? { type: 'flat', amount: rule.amount as number } : { type: 'percent', bps: rule.bps as number };
}
