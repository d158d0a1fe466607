import { MoneyError } from '../../common/money';
import { flatRule } from './flat.rule';
import { percentRule } from './percent.rule';
import { applyRule, describeRule, isRuleKey, needsSaleAmount, normalizeRule, payoutExceedsRevenue, RateRule, RULE_TYPE_KEYS, ruleMargin, ruleType } from './rules.registry';

const flat = (amount: number): RateRule => ({ type: 'flat', amount });
const percent = (bps: number): RateRule => ({ type: 'percent', bps });
const format = { money: (a: number) => `$${(a / 100).toFixed(2)}`, percent: (b: number) => `${b / 100}%` };

describe('rules registry', () => {
  it('lists each rule type once, in the order forms offer them, each under its own key', () => {
    expect(RULE_TYPE_KEYS).toEqual(['flat', 'percent', 'tiered']);
    for (const key of RULE_TYPE_KEYS) expect(ruleType(key).key).toBe(key);
    expect(ruleType('flat')).toBe(flatRule);
    expect(ruleType('percent')).toBe(percentRule);
  });

  it('refuses an unknown type, inherited object keys included', () => {
    for (const key of ['stepped', 'constructor', 'toString', '__proto__', '']) {
      expect(isRuleKey(key)).toBe(false);
      expect(() => ruleType(key)).toThrow(new MoneyError('invalid_amount', `unknown rule type: ${JSON.stringify(key)}`));
    }
    expect(isRuleKey(undefined)).toBe(false);
  });

  it('applies a rule by its type', async () => {
    const context = { saleAmount: 4999, currency: 'USD' };
    expect(await applyRule(flat(300), context)).toEqual({ amount: 300, rounding: 'none' });
    expect(await applyRule(percent(1000), context)).toEqual({ amount: 500, rounding: 'half_up' });
    await expect(applyRule({ type: 'stepped' } as unknown as RateRule, context)).rejects.toMatchObject({ code: 'invalid_amount' });
  });

  it('says which rules need a sale amount, and describes each', () => {
    expect(needsSaleAmount(flat(1))).toBe(false);
    expect(needsSaleAmount(percent(1))).toBe(true);
    expect(describeRule(flat(305), format)).toBe('$3.05');
    expect(describeRule(percent(1250), format)).toBe('12.5%');
  });

  it('stores exactly the fields of the chosen type', () => {
    expect(normalizeRule({ type: 'flat', amount: 1, bps: 2 } as { type: string })).toEqual(flat(1));
    expect(normalizeRule({ type: 'percent', amount: 1, bps: 2 } as { type: string })).toEqual(percent(2));
  });

  it('compares revenue and payout only where they share a type', () => {
    expect(ruleMargin(flat(500), flat(300))).toEqual(flat(200));
    expect(ruleMargin(percent(1500), percent(1000))).toEqual(percent(500));
    expect(ruleMargin(flat(500), percent(1000))).toBeNull();
    expect(ruleMargin(percent(1500), flat(300))).toBeNull();
    expect(payoutExceedsRevenue(flat(101), flat(100))).toBe(true);
    expect(payoutExceedsRevenue(percent(200), percent(100))).toBe(true);
    expect(payoutExceedsRevenue(flat(100), flat(100))).toBe(false);
    // Whether a flat payout exceeds a percent revenue depends on the sale: not refused up front.
    expect(payoutExceedsRevenue(flat(1_000_000), percent(1))).toBe(false);
    expect(payoutExceedsRevenue(percent(10_000), flat(1))).toBe(false);
  });
});
