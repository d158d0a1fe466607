import type { TieredRule, TierRule } from '../../rules';
import { moneyInput } from '../web/format';

/** How the editor offers, shows and reads back one rule type (offer-form.ts keys them like the registry). */
export interface RuleForm<TRule> {
  option(currency: string): string;
  value(rule: TRule, currency: string): string;
  parse(value: string, currency: string): { rule: TRule } | { error: string };
}

const SALES_PREFIX = /^sales?\s*:\s*/i;

/**
 * A tiered rule as people type it: `0=3.00; 50=4.50; 100=12%` — each tier's start (conversions
 * this month; with `sales:` in front, the sale amount in the offer's currency), `=`, and its
 * rule (an amount, or a percent with `%`). `tierForm` reads one tier's rule as the editor reads
 * a flat or percent rule.
 */
export function tieredRuleForm(tierForm: (type: TierRule['type']) => RuleForm<TierRule>): RuleForm<TieredRule> {
  const show = (rule: TierRule, currency: string) => (rule.type === 'percent' ? `${tierForm('percent').value(rule, currency)}%` : tierForm('flat').value(rule, currency));
  return {
    option: () => 'Tiered (by volume this month)',
    value: (rule, currency) => {
      const from = (n: number) => (rule.basis === 'saleAmount' ? moneyInput(n, currency) : String(n));
      return `${rule.basis === 'saleAmount' ? 'sales: ' : ''}${rule.tiers.map((t) => `${from(t.from)}=${show(t.rule, currency)}`).join('; ')}`;
    },
    parse: (value, currency) => {
      const sales = SALES_PREFIX.test(value);
      const parts = value
        .replace(SALES_PREFIX, '')
        .split(';')
        .map((p) => p.trim())
        .filter(Boolean);
      if (!parts.length) return { error: 'must list tiers, such as 0=3.00; 50=12%' };
      const tiers: TieredRule['tiers'] = [];
      for (const [i, part] of parts.entries()) {
        const [start, rate, extra] = part.split('=').map((x) => x.trim());
        if (!start || !rate || extra !== undefined) return { error: `tier ${i + 1} must read start=rule, such as 50=12%` };
        const from = sales
          ? tierForm('flat').parse(start, currency)
          : /^\d{1,12}$/.test(start)
            ? { rule: { type: 'flat' as const, amount: Number(start) } }
            : { error: 'must be a whole number' };
        if ('error' in from) return { error: `tier ${i + 1}: the start ${from.error}` };
        const percent = rate.endsWith('%');
        const rule = tierForm(percent ? 'percent' : 'flat').parse(percent ? rate.slice(0, -1).trim() : rate, currency);
        if ('error' in rule) return { error: `tier ${i + 1}: ${rule.error}` };
        tiers.push({ from: (from.rule as { amount: number }).amount, rule: rule.rule });
      }
      return { rule: { type: 'tiered', basis: sales ? 'saleAmount' : 'conversions', period: 'month', tiers } };
    },
  };
}
