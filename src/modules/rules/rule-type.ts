import { registerDecorator } from 'class-validator';
import type { RateRule } from './rules.registry';

/** How a rule's result was reached: exactly, or rounded half-up to the minor unit. */
export type Rounding = 'none' | 'half_up';

export interface RuleResult {
  amount: number;
  rounding: Rounding;
  /** The rule to write on the conversion where it is not the goal's own (a rule with tiers writes the tier it used). */
  applied?: RateRule;
}

/** What an affiliate did on one offer and goal in a period: counted conversions and their sale amount. */
export interface RuleVolume {
  conversions: number;
  saleAmount: number;
}

/**
 * What a rule may look at when it computes one conversion's amount. The sale amount is always
 * there; what needs a query is a loader the caller supplies and a rule calls only if it needs it,
 * so flat and percent rules never pay for counting.
 */
export interface RuleContext {
  /** The sale amount in minor units of `currency`, or null when the conversion carried none. */
  readonly saleAmount: number | null;
  readonly currency: string;
  /**
   * The affiliate's conversions and sale amount on this offer and goal in the current calendar
   * month of the offer's time zone, before this conversion, rejected and reversed ones left out.
   */
  readonly monthlyVolume?: () => Promise<RuleVolume>;
  /** How many conversions this conversion's customer had on the offer before it. */
  readonly customerConversions?: () => Promise<number>;
}

/** How the caller shows amounts and basis points (the portal: Intl with the currency symbol). */
export interface RuleFormatter {
  money(amount: number): string;
  percent(bps: number): string;
}

/**
 * One kind of revenue or payout rule (`{type: "flat", amount}`, `{type: "percent", bps}` …).
 * Every caller reaches a rule through the registry (rules.registry.ts), never by its fields.
 */
export interface RuleType<TRule extends { type: string }> {
  readonly key: TRule['type'];
  /** Whether computing this rule needs the conversion's sale amount. */
  needsSaleAmount(rule: TRule): boolean;
  /** Exactly the rule's own fields, from validated input that may carry others' fields. */
  normalize(input: { type: string }): TRule;
  apply(rule: TRule, context: RuleContext): Promise<RuleResult>;
  /** A short label for people: "$3.00", "7.5%". */
  describe(rule: TRule, format: RuleFormatter): string;
  /** Revenue minus payout as a rule of this type, where the two compare without a sale. */
  margin?(revenue: TRule, payout: TRule): TRule;
  /** Whether the payout is more than the revenue, where the two compare without a sale. */
  exceeds?(payout: TRule, revenue: TRule): boolean;
}

/** A DTO field that belongs to one rule type only: sent with another type, it is refused by name. */
export function OnlyForRuleType(type: string): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'onlyForRuleType',
      target: target.constructor,
      propertyName: propertyName as string,
      options: { message: `${String(propertyName)} belongs to ${type} rules only` },
      validator: { validate: (_: unknown, args) => (args?.object as { type?: unknown }).type === type },
    });
}
