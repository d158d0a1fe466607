import fc from 'fast-check';
import { MAX_MINOR_UNITS, MoneyError } from '../../common/money';
import { flatRule } from './flat.rule';

const context = (saleAmount: number | null) => ({ saleAmount, currency: 'USD' });
const storedAmount = fc.integer({ min: 0, max: MAX_MINOR_UNITS });

describe('flat rule', () => {
  it('pays its amount whatever the sale, never rounding', async () => {
    await fc.assert(
      fc.asyncProperty(storedAmount, fc.option(storedAmount), async (amount, sale) => {
        expect(await flatRule.apply({ type: 'flat', amount }, context(sale))).toEqual({ amount, rounding: 'none' });
      }),
    );
  });

  it('pays zero for a zero rule, and needs no sale amount', async () => {
    expect(await flatRule.apply({ type: 'flat', amount: 0 }, context(null))).toEqual({ amount: 0, rounding: 'none' });
    expect(flatRule.needsSaleAmount({ type: 'flat', amount: 500 })).toBe(false);
  });

  it.each([-1, 0.5, MAX_MINOR_UNITS + 1, NaN])('refuses a stored amount of %p', async (amount) => {
    await expect(flatRule.apply({ type: 'flat', amount }, context(100))).rejects.toThrow(MoneyError);
  });

  it('keeps only its own fields', () => {
    expect(flatRule.normalize({ type: 'flat', amount: 300, bps: 5 } as { type: string })).toEqual({ type: 'flat', amount: 300 });
  });

  it('describes itself as money, and compares with another flat rule without a sale', () => {
    expect(flatRule.describe({ type: 'flat', amount: 300 }, { money: (a) => `$${a / 100}`, percent: () => 'unused' })).toBe('$3');
    expect(flatRule.margin?.({ type: 'flat', amount: 500 }, { type: 'flat', amount: 300 })).toEqual({ type: 'flat', amount: 200 });
    expect(flatRule.exceeds?.({ type: 'flat', amount: 501 }, { type: 'flat', amount: 500 })).toBe(true);
    expect(flatRule.exceeds?.({ type: 'flat', amount: 500 }, { type: 'flat', amount: 500 })).toBe(false);
  });
});
