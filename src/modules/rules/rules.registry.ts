import { MoneyError } from '../../common/money';
import { FlatRule, flatRule } from './flat.rule';
import { PercentRule, percentRule } from './percent.rule';
import { TieredRule, tieredRule } from './tiered.rule';
import type { RuleContext, RuleFormatter, RuleResult, RuleType } from './rule-type';

/** A goal's revenue or payout rule, of any registered type. */
export type RateRule = FlatRule | PercentRule | TieredRule;
export type RuleKey = RateRule['type'];

/** Every rule type by its `type`; the mapped type makes a missing or mismatched entry a compile error. */
const RULE_TYPES: { readonly [K in RuleKey]: RuleType<Extract<RateRule, { type: K }>> } = {
  flat: flatRule,
  percent: percentRule,
  tiered: tieredRule,
};

/** The registered `type` values, in the order forms offer them. */
export const RULE_TYPE_KEYS = Object.keys(RULE_TYPES) as RuleKey[];

export function isRuleKey(key: unknown): key is RuleKey {
  return typeof key === 'string' && Object.hasOwn(RULE_TYPES, key);
}

/** The rule type of `key`; an unknown type is a bug upstream (input is validated against the keys). */
export function ruleType(key: string): RuleType<RateRule> {
  if (!isRuleKey(key)) throw new MoneyError('invalid_amount', `unknown rule type: ${JSON.stringify(key)}`);
  // Each entry takes only its own rule; callers pass the rule whose `type` chose it.
  return RULE_TYPES[key] as RuleType<RateRule>;
}

/** The amount a rule gives for one conversion, and whether it was rounded. */
export async function applyRule(rule: RateRule, context: RuleContext): Promise<RuleResult> {
  return ruleType(rule.type).apply(rule, context);
}

export function needsSaleAmount(rule: RateRule): boolean {
  return ruleType(rule.type).needsSaleAmount(rule);
}

export function describeRule(rule: RateRule, format: RuleFormatter): string {
  return ruleType(rule.type).describe(rule, format);
}

/** Stores exactly the rule's own fields, whatever else the (validated) input carried. */
export function normalizeRule(input: { type: string }): RateRule {
  return ruleType(input.type).normalize(input);
}

/** The margin of a goal where revenue and payout share a type that compares; null where it depends on the sale. */
export function ruleMargin(revenue: RateRule, payout: RateRule): RateRule | null {
  if (revenue.type !== payout.type) return null;
  return ruleType(revenue.type).margin?.(revenue, payout) ?? null;
}

/** The affiliate may not earn more than the advertiser pays, where the two rules can be compared. */
export function payoutExceedsRevenue(payout: RateRule, revenue: RateRule): boolean {
  if (payout.type !== revenue.type) return false;
  return ruleType(payout.type).exceeds?.(payout, revenue) ?? false;
}
