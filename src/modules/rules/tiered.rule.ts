import { ApiProperty, ApiPropertyOptional, IntersectionType } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsIn, IsInt, Max, Min, registerDecorator, ValidateIf, ValidateNested } from 'class-validator';
import { MAX_MINOR_UNITS, MoneyError } from '../../common/money';
import { FlatRule, flatRule, FlatRuleFields } from './flat.rule';
import { PercentRule, percentRule, PercentRuleFields } from './percent.rule';
import { OnlyForRuleType, RuleType } from './rule-type';

/** What a tier's `from` counts: the affiliate's conversions, or their sale amount in minor units. */
export const TIER_BASES = ['conversions', 'saleAmount'] as const;
export type TierBasis = (typeof TIER_BASES)[number];
export const TIER_PERIODS = ['month'] as const;
/** The most tiers one rule may have. */
export const MAX_TIERS = 20;

/** A tier's own rule: flat or percent (a tier never holds tiers). */
export type TierRule = FlatRule | PercentRule;

export interface Tier {
  from: number;
  rule: TierRule;
}

/** The tier a conversion was paid at, written on it with the rule. */
export interface TierUsed {
  /** 1 for the first tier. */
  number: number;
  from: number;
  /** The affiliate's volume (conversions or sale amount) this month before this conversion. */
  volume: number;
  rule: TierRule;
}

/**
 * Pays by the affiliate's volume on this offer and goal in the calendar month (of the offer's
 * time zone) before this conversion: the last tier whose `from` that volume reached.
 */
export interface TieredRule {
  type: 'tiered';
  basis: TierBasis;
  period: 'month';
  tiers: Tier[];
  /** Only on a conversion: the tier it was paid at. */
  tier?: TierUsed;
}

const TIER_RULES = { flat: flatRule, percent: percentRule } as const;
const tierRuleType = (rule: TierRule) => TIER_RULES[rule.type] as RuleType<TierRule>;

/** The rule of one tier: `{type: "flat", amount}` or `{type: "percent", bps}`. */
export class TierRuleFields extends IntersectionType(FlatRuleFields, PercentRuleFields) {
  @ApiProperty({ enum: Object.keys(TIER_RULES) })
  @IsIn(Object.keys(TIER_RULES), { message: 'a tier rule must be flat or percent' })
  type: TierRule['type'];
}

export class TierFields {
  @ApiProperty({ type: 'integer', minimum: 0, description: 'the volume (conversions, or sale amount in minor units) from which this tier pays' })
  @IsInt({ message: 'from must be a whole number' })
  @Min(0)
  @Max(MAX_MINOR_UNITS)
  from: number;

  @ApiProperty({ type: TierRuleFields })
  @ValidateNested()
  @Type(() => TierRuleFields)
  rule: TierRuleFields;
}

/** The problem with a tier list's thresholds (the first 0, each above the one before), or null. */
export function tierProblem(tiers: readonly { from?: unknown }[]): string | null {
  if (!tiers.length) return 'tiers must have at least one tier';
  if (tiers[0].from !== 0) return 'tiers.0.from must be 0: the first tier pays from the first conversion';
  for (let i = 1; i < tiers.length; i++) {
    const [before, from] = [tiers[i - 1].from, tiers[i].from];
    if (typeof from === 'number' && typeof before === 'number' && from <= before)
      return `tiers.${i}.from must be greater than tiers.${i - 1}.from (${before}): thresholds strictly increase`;
  }
  return null;
}

function IncreasingTiers(): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'increasingTiers',
      target: target.constructor,
      propertyName: propertyName as string,
      validator: {
        validate: (value: unknown) => Array.isArray(value) && tierProblem(value as { from?: unknown }[]) === null,
        defaultMessage: (args) => (Array.isArray(args?.value) ? (tierProblem(args.value as { from?: unknown }[]) as string) : 'tiers must be a list'),
      },
    });
}

const isTiered = (o: { type?: unknown }) => o.type === 'tiered';

/** The request fields of a tiered rule, mixed into the offer DTO's rule. */
export class TieredRuleFields {
  @ApiPropertyOptional({ enum: TIER_BASES, description: 'tiered: what the thresholds count' })
  @ValidateIf((o: { type?: unknown; basis?: unknown }) => isTiered(o) || o.basis !== undefined)
  @IsIn(TIER_BASES)
  @OnlyForRuleType('tiered')
  basis?: TierBasis;

  @ApiPropertyOptional({ enum: TIER_PERIODS, description: 'tiered: the calendar period of the offer time zone the volume is counted in' })
  @ValidateIf((o: { type?: unknown; period?: unknown }) => isTiered(o) || o.period !== undefined)
  @IsIn(TIER_PERIODS)
  @OnlyForRuleType('tiered')
  period?: 'month';

  @ApiPropertyOptional({ type: [TierFields], description: 'tiered: `from` strictly increasing, the first 0' })
  @ValidateIf((o: { type?: unknown; tiers?: unknown }) => isTiered(o) || o.tiers !== undefined)
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_TIERS)
  @ValidateNested({ each: true })
  @Type(() => TierFields)
  @IncreasingTiers()
  @OnlyForRuleType('tiered')
  tiers?: TierFields[];
}

/** The tier that `volume` reaches (its index), tiers being sorted by `from`. */
export function tierIndex(tiers: readonly Tier[], volume: number): number {
  let index = 0;
  tiers.forEach((tier, i) => {
    if (volume >= tier.from) index = i;
  });
  return index;
}

function checkStored(rule: TieredRule): void {
  const problem = !Array.isArray(rule.tiers) ? 'tiers must be a list' : tierProblem(rule.tiers);
  if (problem) throw new MoneyError('invalid_amount', `tiered rule: ${problem}`);
}

export const tieredRule: RuleType<TieredRule> = {
  key: 'tiered',
  needsSaleAmount: (rule) => rule.tiers.some((t) => tierRuleType(t.rule).needsSaleAmount(t.rule)),
  normalize: (input) => {
    const { basis, period, tiers } = input as Partial<TieredRule>;
    return {
      type: 'tiered',
      basis: basis as TierBasis,
      period: period ?? 'month',
      tiers: (tiers ?? []).map((t) => ({ from: t.from, rule: tierRuleType(t.rule).normalize(t.rule) })),
    };
  },
  apply: async (rule, context) => {
    checkStored(rule);
    if (!context.monthlyVolume) throw new MoneyError('invalid_amount', 'a tiered rule needs the monthly volume');
    const counted = await context.monthlyVolume();
    const volume = rule.basis === 'saleAmount' ? counted.saleAmount : counted.conversions;
    const index = tierIndex(rule.tiers, volume);
    const tier = rule.tiers[index];
    const result = await tierRuleType(tier.rule).apply(tier.rule, context);
    const { type, basis, period, tiers } = rule;
    return { amount: result.amount, rounding: result.rounding, applied: { type, basis, period, tiers, tier: { number: index + 1, from: tier.from, volume, rule: tier.rule } } };
  },
  describe: (rule, format) => {
    const threshold = (from: number) => (rule.basis === 'saleAmount' ? format.money(from) : `${from}`);
    const label = rule.basis === 'saleAmount' ? 'sales this month' : 'conversions this month';
    const tiers = rule.tiers.map((t) => `${threshold(t.from)}+: ${tierRuleType(t.rule).describe(t.rule, format)}`).join(', ');
    const used = rule.tier ? ` (tier ${rule.tier.number})` : '';
    return `tiered by ${label}: ${tiers}${used}`;
  },
};
