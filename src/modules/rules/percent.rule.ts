import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsInt, Max, Min, ValidateIf } from 'class-validator';
import { applyBpsExact, assertMinorUnits, MoneyError } from '../../common/money';
import { OnlyForRuleType, RuleType } from './rule-type';

/** A share of the sale amount in basis points (1000 = 10%). */
export interface PercentRule {
  type: 'percent';
  bps: number;
}

/** The request fields of a percent rule, mixed into the offer DTO's rule. */
export class PercentRuleFields {
  @ApiPropertyOptional({ type: 'integer', minimum: 0, maximum: 10000, description: 'percent: basis points, 1000 = 10%' })
  @ValidateIf((o: { type?: unknown; bps?: unknown }) => o.type === 'percent' || o.bps !== undefined)
  @IsInt({ message: 'bps must be an integer number of basis points' })
  @Min(0)
  @Max(10000, { message: 'bps must not exceed 10000 (100%)' })
  @OnlyForRuleType('percent')
  bps?: number;
}

export const percentRule: RuleType<PercentRule> = {
  key: 'percent',
  needsSaleAmount: () => true,
  normalize: (input) => ({ type: 'percent', bps: (input as Partial<PercentRule>).bps as number }),
  // Rounded half-up once, here; the conversion records whether it had to round.
  apply: async (rule, { saleAmount }) => {
    if (saleAmount === null) throw new MoneyError('invalid_amount', 'a percent rule needs a sale amount');
    assertMinorUnits(saleAmount);
    const { amount, exact } = applyBpsExact(saleAmount, rule.bps);
    return { amount, rounding: exact ? 'none' : 'half_up' };
  },
  describe: (rule, format) => format.percent(rule.bps),
  margin: (revenue, payout) => ({ type: 'percent', bps: revenue.bps - payout.bps }),
  exceeds: (payout, revenue) => payout.bps > revenue.bps,
};
