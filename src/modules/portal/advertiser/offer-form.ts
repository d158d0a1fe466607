import { MoneyError, parseDecimalAmount } from '../../../common/money';
import { applyRule, isRuleKey, RateRule, RULE_TYPE_KEYS, RuleKey, TierRule } from '../../rules';
import type { OfferView, RateRuleView } from '../../offers/dto/offer.dto';
import { FieldErrors } from '../web/forms';
import { bpsToPercent, moneyInput, parsePercent } from '../web/format';
import { RuleForm, tieredRuleForm } from './tiered-rule-form';

/** A rule as typed: a type and a value in the currency's units ("3.00") or in percent ("10"). */
export interface RuleInput {
  type: string;
  value: string;
}

export interface OverrideInput extends RuleInput {
  affiliateId: string;
}

export interface GoalInput {
  key: string;
  name: string;
  revenue: RuleInput;
  payout: RuleInput;
  /** Recurring commissions: months as typed ("12"), "life", or empty for none. */
  recurring: string;
  overrides: OverrideInput[];
}

/** The offer editor's fields, all as the strings the form shows. */
export interface OfferForm {
  name: string;
  description: string;
  landingUrl: string;
  fallbackUrl: string;
  currency: string;
  status: string;
  visibility: string;
  attributionWindowDays: string;
  lockPeriodDays: string;
  attributionPriority: string;
  minClickToConversionSeconds: string;
  caps: Record<string, string>;
  goals: GoalInput[];
}

export const COUNT_CAPS = [
  'dailyConversions',
  'monthlyConversions',
  'totalConversions',
  'affiliateDailyConversions',
  'affiliateMonthlyConversions',
  'affiliateTotalConversions',
] as const;

const blankRule = (): RuleInput => ({ type: 'flat', value: '' });
export const blankGoal = (): GoalInput => ({ key: '', name: '', revenue: blankRule(), payout: blankRule(), recurring: '', overrides: [] });
const blankOverride = (): OverrideInput => ({ affiliateId: '', ...blankRule() });

/** An amount typed in the currency's units, to minor units; the message says what is wrong. */
function parseMoney(value: string, currency: string): { amount: number } | { error: string } {
  try {
    return { amount: parseDecimalAmount(value, currency) };
  } catch (error) {
    if (!(error instanceof MoneyError)) throw error;
    return { error: error.code === 'too_many_decimals' ? error.message : `must be an amount in ${currency}, such as 12.50` };
  }
}

// Keyed like the rules registry: a rule type without its form here is a compile error.
const RULE_FORMS: { readonly [K in RuleKey]: RuleForm<Extract<RateRule, { type: K }>> } = {
  flat: {
    option: (currency) => `Fixed ${currency}`,
    value: (rule, currency) => moneyInput(rule.amount, currency),
    parse: (value, currency) => {
      const money = parseMoney(value, currency);
      return 'error' in money ? money : { rule: { type: 'flat', amount: money.amount } };
    },
  },
  percent: {
    option: () => '% of sale',
    value: (rule) => bpsToPercent(rule.bps ?? 0),
    parse: (value) => {
      const bps = parsePercent(value);
      return bps === null ? { error: 'must be a percent from 0 to 100 with at most two decimals' } : { rule: { type: 'percent', bps } };
    },
  },
  tiered: tieredRuleForm((type) => RULE_FORMS[type] as RuleForm<TierRule>),
};

/** The form of a posted type; anything unknown is read as a fixed amount, the editor's default. */
const ruleForm = (type: string): RuleForm<RateRule> => (isRuleKey(type) ? RULE_FORMS[type] : RULE_FORMS.flat) as RuleForm<RateRule>;

/** The rule kinds the editor's select offers, labelled for the offer's currency. */
export const ruleOptions = (currency: string): { value: RuleKey; label: string }[] => RULE_TYPE_KEYS.map((key) => ({ value: key, label: RULE_FORMS[key].option(currency) }));

/** What the recurring field accepts for life, besides a number of months. */
const FOR_LIFE = 'life';

/** A goal's stored recurring window, as the field shows it. */
const recurringInput = (recurring: { months: number | null } | null | undefined): string => (!recurring ? '' : recurring.months === null ? FOR_LIFE : String(recurring.months));

/** The recurring field, to the goal's `recurring` (null: none); the DTO judges the range of a number. */
function recurringValue(value: string): { recurring: { months: number | null } | null } | { error: string } {
  if (!value) return { recurring: null };
  if (value.toLowerCase() === FOR_LIFE) return { recurring: { months: null } };
  return /^-?\d{1,12}$/.test(value) ? { recurring: { months: Number(value) } } : { error: `must be a number of months, such as 12, or ${FOR_LIFE}` };
}

/** A stored rule, as the API shows it, in the units people type. */
function ruleInput(rule: RateRuleView | undefined, currency: string): RuleInput {
  if (!rule) return blankRule();
  return { type: rule.type, value: ruleForm(rule.type).value(rule as RateRule, currency) };
}

export function blankOfferForm(): OfferForm {
  return {
    name: '',
    description: '',
    landingUrl: '',
    fallbackUrl: '',
    currency: 'USD',
    status: 'active',
    visibility: 'public',
    attributionWindowDays: '30',
    lockPeriodDays: '30',
    attributionPriority: 'coupon_first',
    minClickToConversionSeconds: '0',
    caps: {},
    goals: [blankGoal()],
  };
}

export function formFromOffer(offer: OfferView): OfferForm {
  const caps: Record<string, string> = {};
  for (const cap of COUNT_CAPS) if (offer.caps[cap] !== undefined) caps[cap] = String(offer.caps[cap]);
  if (offer.caps.revenueBudget !== undefined) caps.revenueBudget = moneyInput(offer.caps.revenueBudget, offer.currency);
  return {
    name: offer.name,
    description: offer.description ?? '',
    landingUrl: offer.landingUrl,
    fallbackUrl: offer.fallbackUrl ?? '',
    currency: offer.currency,
    status: offer.status,
    visibility: offer.visibility,
    attributionWindowDays: String(offer.attributionWindowDays),
    lockPeriodDays: String(offer.lockPeriodDays),
    attributionPriority: offer.attributionPriority,
    minClickToConversionSeconds: String(offer.minClickToConversionSeconds),
    caps,
    goals: offer.goals.map((g) => ({
      key: g.key,
      name: g.name ?? '',
      revenue: ruleInput(g.revenue, offer.currency),
      payout: ruleInput(g.payout, offer.currency),
      recurring: recurringInput(g.recurring),
      overrides: (g.overrides ?? []).map((o) => ({ affiliateId: o.affiliateId, ...ruleInput(o.payout, offer.currency) })),
    })),
  };
}

/**
 * Reads the posted editor back (`goals.0.payout.value`, `goals.0.overrides.1.affiliateId`, …).
 * Rows ticked "remove" are dropped; `_action` adds a blank goal or override row for the next render.
 */
export function formFromBody(body: Record<string, unknown>, currency: string): OfferForm {
  const text = (name: string) => (typeof body[name] === 'string' ? (body[name] as string).trim() : '');
  const rule = (prefix: string): RuleInput => ({ type: text(`${prefix}.type`) || 'flat', value: text(`${prefix}.value`) });
  const indexes = (pattern: RegExp) =>
    [
      ...new Set(
        Object.keys(body)
          .map((k) => pattern.exec(k)?.[1])
          .filter((i): i is string => i !== undefined),
      ),
    ]
      .map(Number)
      .sort((a, b) => a - b);
  const action = text('_action');
  const goals: GoalInput[] = [];
  for (const i of indexes(/^goals\.(\d{1,3})\.key$/)) {
    if (text(`goals.${i}.remove`)) continue;
    const overrides = indexes(new RegExp(`^goals\\.${i}\\.overrides\\.(\\d{1,4})\\.affiliateId$`))
      .filter((j) => !text(`goals.${i}.overrides.${j}.remove`))
      .map((j) => ({ affiliateId: text(`goals.${i}.overrides.${j}.affiliateId`), ...rule(`goals.${i}.overrides.${j}`) }))
      .filter((o) => o.affiliateId || o.value);
    if (action === `add_override:${i}`) overrides.push(blankOverride());
    const goal = {
      key: text(`goals.${i}.key`),
      name: text(`goals.${i}.name`),
      revenue: rule(`goals.${i}.revenue`),
      payout: rule(`goals.${i}.payout`),
      recurring: text(`goals.${i}.recurring`),
      overrides,
    };
    if (goal.key || goal.revenue.value || goal.payout.value || overrides.length) goals.push(goal);
  }
  if (action === 'add_goal' || !goals.length) goals.push(blankGoal());
  const caps: Record<string, string> = {};
  for (const cap of [...COUNT_CAPS, 'revenueBudget']) if (text(`caps.${cap}`)) caps[cap] = text(`caps.${cap}`);
  return {
    name: text('name'),
    description: text('description'),
    landingUrl: text('landingUrl'),
    fallbackUrl: text('fallbackUrl'),
    currency: text('currency') || currency,
    status: text('status'),
    visibility: text('visibility'),
    attributionWindowDays: text('attributionWindowDays'),
    lockPeriodDays: text('lockPeriodDays'),
    attributionPriority: text('attributionPriority'),
    minClickToConversionSeconds: text('minClickToConversionSeconds'),
    caps,
    goals,
  };
}

/** A whole number as typed, negative ones included (so "-5" is told it is below the minimum, not that it is not a number); other text as it is, for the DTO to name. */
const whole = (value: string): number | string | undefined => (value === '' ? undefined : /^-?\d{1,12}$/.test(value) ? Number(value) : value);

/**
 * The offer DTO the API takes, from the editor's strings: money in the offer's currency to minor
 * units and percents to basis points, exactly. What cannot be converted is reported by field; the
 * DTO's own validation and the offers service judge the rest.
 */
export function dtoFromForm(form: OfferForm, currency: string): { dto: Record<string, unknown>; fields: FieldErrors } {
  const fields: FieldErrors = {};
  const money = (value: string, field: string): number | undefined => {
    const parsed = parseMoney(value, currency);
    if ('error' in parsed) fields[field] = parsed.error;
    return 'error' in parsed ? undefined : parsed.amount;
  };
  const rule = (input: RuleInput, field: string): RateRule | undefined => {
    if (!input.value) {
      fields[field] = 'is required';
      return undefined;
    }
    const parsed = ruleForm(input.type).parse(input.value, currency);
    if ('error' in parsed) fields[field] = parsed.error;
    return 'error' in parsed ? undefined : parsed.rule;
  };
  const recurring = (value: string, field: string) => {
    const parsed = recurringValue(value);
    if ('error' in parsed) fields[field] = parsed.error;
    return 'error' in parsed ? undefined : parsed.recurring;
  };
  const goals = form.goals
    .filter((g) => g.key || g.revenue.value || g.payout.value)
    .map((g, i) => ({
      key: g.key,
      ...(g.name ? { name: g.name } : {}),
      revenue: rule(g.revenue, `goals.${i}.revenue`),
      payout: rule(g.payout, `goals.${i}.payout`),
      recurring: recurring(g.recurring, `goals.${i}.recurring`),
      overrides: g.overrides.map((o, j) => ({ affiliateId: o.affiliateId, payout: rule(o, `goals.${i}.overrides.${j}.payout`) })),
    }));
  const caps: Record<string, unknown> = {};
  for (const cap of COUNT_CAPS) if (form.caps[cap]) caps[cap] = whole(form.caps[cap]);
  if (form.caps.revenueBudget) caps.revenueBudget = money(form.caps.revenueBudget, 'caps.revenueBudget');
  return {
    fields,
    dto: {
      name: form.name,
      description: form.description || undefined,
      landingUrl: form.landingUrl,
      fallbackUrl: form.fallbackUrl || undefined,
      status: form.status || undefined,
      visibility: form.visibility || undefined,
      attributionWindowDays: whole(form.attributionWindowDays),
      lockPeriodDays: whole(form.lockPeriodDays),
      attributionPriority: form.attributionPriority || undefined,
      minClickToConversionSeconds: whole(form.minClickToConversionSeconds),
      caps,
      goals,
    },
  };
}

/** The sale amount of the earnings preview: 100 in the offer's currency. */
export const PREVIEW_SALE = '100';

/**
 * Per goal, what the rules as typed give on a sale of 100 in the currency ("On a $100.00 sale the
 * affiliate earns $10.00; you pay $15.00"), computed by the rules themselves as for a real
 * conversion (first of the month, first order of the customer); null where a rule does not parse.
 */
export async function earningsPreview(form: OfferForm, currency: string): Promise<({ sale: number; payout: number | null; revenue: number | null } | null)[]> {
  const { dto } = dtoFromForm(form, currency);
  const sale = parseDecimalAmount(PREVIEW_SALE, currency);
  const context = { saleAmount: sale, currency, monthlyVolume: async () => ({ conversions: 0, saleAmount: 0 }), customerConversions: async () => 0 };
  const amount = async (rule: RateRule | undefined) => (rule ? (await applyRule(rule, context)).amount : null);
  return Promise.all(
    (dto.goals as { revenue?: RateRule; payout?: RateRule }[]).map(async (goal) => {
      const [payout, revenue] = await Promise.all([amount(goal.payout), amount(goal.revenue)]);
      return payout === null && revenue === null ? null : { sale, payout, revenue };
    }),
  );
}
