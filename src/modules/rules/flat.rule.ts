import { ApiPropertyOptional } from '@nestjs/swagger';
import { ValidateIf } from 'class-validator';
import { assertMinorUnits } from '../../common/money';
import { MinorUnits } from '../../common/validation/validators';
import { OnlyForRuleType, RuleType } from './rule-type';

/** A fixed amount per result, in minor units of the offer's currency. */
export interface FlatRule {
  type: 'flat';
  amount: number;
}

/** The request fields of a flat rule, mixed into the offer DTO's rule. */
export class FlatRuleFields {
  @ApiPropertyOptional({ type: 'integer', description: 'flat: minor units' })
  @ValidateIf((o: { type?: unknown; amount?: unknown }) => o.type === 'flat' || o.amount !== undefined)
  @MinorUnits()
  @OnlyForRuleType('flat')
  amount?: number;
}

export const flatRule: RuleType<FlatRule> = {
  key: 'flat',
  needsSaleAmount: () => false,
  normalize: (input) => ({ type: 'flat', amount: (input as Partial<FlatRule>).amount as number }),
  // The sale amount plays no part: a flat rule pays the same whatever the sale.
  apply: async (rule) => {
    assertMinorUnits(rule.amount);
    return { amount: rule.amount, rounding: 'none' };
  },
  describe: (rule, format) => format.money(rule.amount),
  margin: (revenue, payout) => ({ type: 'flat', amount: revenue.amount - payout.amount }),
  exceeds: (payout, revenue) => payout.amount > revenue.amount,
};
