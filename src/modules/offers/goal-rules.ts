import type { ErrorDetail } from '../../common/errors';
import { payoutExceedsRevenue, type RateRule } from '../rules';

interface GoalInput {
  key: string;
  revenue: RateRule;
  payout: RateRule;
  overrides?: { affiliateId: string; payout: RateRule }[];
}

/** Checks a goal set as a whole; returns one detail per problem (empty when fine). */
export function checkGoals(goals: GoalInput[]): ErrorDetail[] {
  const problems: ErrorDetail[] = [];
  const seen = new Set<string>();
  goals.forEach((goal, i) => {
    if (seen.has(goal.key)) problems.push({ field: `goals.${i}.key`, message: `goal key "${goal.key}" appears twice` });
    seen.add(goal.key);
    if (payoutExceedsRevenue(goal.payout, goal.revenue)) {
      problems.push({ field: `goals.${i}.payout`, message: `the payout of goal "${goal.key}" exceeds its revenue` });
    }
    const affiliates = new Set<string>();
    (goal.overrides ?? []).forEach((override, j) => {
      if (affiliates.has(override.affiliateId)) {
        problems.push({ field: `goals.${i}.overrides.${j}.affiliateId`, message: 'an affiliate may have one override per goal' });
      }
      affiliates.add(override.affiliateId);
      if (payoutExceedsRevenue(override.payout, goal.revenue)) {
        problems.push({ field: `goals.${i}.overrides.${j}.payout`, message: `the override payout of goal "${goal.key}" exceeds its revenue` });
      }
    });
  });
  return problems;
}
