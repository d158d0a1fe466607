import fc from 'fast-check';
import { MAX_MINOR_UNITS, MoneyError } from '../../common/money';
import { percentRule } from './percent.rule';

const context = (saleAmount: number | null) => ({ saleAmount, currency: 'USD' });
const apply = (bps: number, sale: number | null) => percentRule.apply({ type: 'percent', bps }, context(sale));
const storedAmount = fc.integer({ min: 0, max: MAX_MINOR_UNITS });
const bps = fc.integer({ min: 0, max: 10_000 });

/** floor((sale·bps + 5000) / 10000) in BigInt: half-up for non-negative amounts. */
const reference = (sale: number, rate: number) => Number((BigInt(sale) * BigInt(rate) + 5_000n) / 10_000n);

describe('percent rule', () => {
  it.each([
    [5000, 1000, 500, 'none'], // 10% of 50.00
    [4999, 1000, 500, 'half_up'], // 499.9 → 500
    [4994, 1000, 499, 'half_up'], // 499.4 → 499
    [5, 1000, 1, 'half_up'], // 0.5 → 1: half rounds up, not to even
    [25, 1000, 3, 'half_up'], // 2.5 → 3
    [1, 4999, 0, 'half_up'], // 0.4999 → 0
    [4999, 0, 0, 'none'],
    [0, 1000, 0, 'none'],
    [0, 10_000, 0, 'none'],
    [MAX_MINOR_UNITS, 10_000, MAX_MINOR_UNITS, 'none'],
    [MAX_MINOR_UNITS, 5000, 500_000_000_000_000, 'half_up'], // …999.5 → …000
  ])('%i at %i bps = %i (%s)', async (sale, rate, amount, rounding) => {
    expect(await apply(rate, sale)).toEqual({ amount, rounding });
  });

  it('rounds half-up once, and says so exactly when the share is inexact', async () => {
    await fc.assert(
      fc.asyncProperty(storedAmount, bps, async (sale, rate) => {
        const exact = (BigInt(sale) * BigInt(rate)) % 10_000n === 0n;
        expect(await apply(rate, sale)).toEqual({ amount: reference(sale, rate), rounding: exact ? 'none' : 'half_up' });
      }),
      { numRuns: 1000 },
    );
  });

  it('never pays more than the sale, nor less than zero', async () => {
    await fc.assert(
      fc.asyncProperty(storedAmount, bps, async (sale, rate) => {
        const { amount } = await apply(rate, sale);
        expect(amount).toBeGreaterThanOrEqual(0);
        expect(amount).toBeLessThanOrEqual(sale);
      }),
    );
  });

  it('accepts the bounds 0 and 10000 bps and refuses anything outside', async () => {
    expect(await apply(0, 123)).toEqual({ amount: 0, rounding: 'none' });
    expect(await apply(10_000, 123)).toEqual({ amount: 123, rounding: 'none' });
    for (const rate of [-1, 10_001, 1.5, NaN]) await expect(apply(rate, 100)).rejects.toMatchObject({ code: 'invalid_amount' });
  });

  it('needs a sale amount, and a valid one', async () => {
    expect(percentRule.needsSaleAmount({ type: 'percent', bps: 500 })).toBe(true);
    await expect(apply(500, null)).rejects.toThrow(new MoneyError('invalid_amount', 'a percent rule needs a sale amount'));
    await expect(apply(500, -100)).rejects.toMatchObject({ code: 'invalid_amount' });
    await expect(apply(500, MAX_MINOR_UNITS + 1)).rejects.toMatchObject({ code: 'invalid_amount' });
  });

  it('keeps only its own fields', () => {
    expect(percentRule.normalize({ type: 'percent', bps: 750, amount: 5 } as { type: string })).toEqual({ type: 'percent', bps: 750 });
  });

  it('describes itself as a percentage, and compares with another percent rule without a sale', () => {
    expect(percentRule.describe({ type: 'percent', bps: 750 }, { money: () => 'unused', percent: (b) => `${b / 100}%` })).toBe('7.5%');
    expect(percentRule.margin?.({ type: 'percent', bps: 1500 }, { type: 'percent', bps: 1000 })).toEqual({ type: 'percent', bps: 500 });
    expect(percentRule.exceeds?.({ type: 'percent', bps: 1001 }, { type: 'percent', bps: 1000 })).toBe(true);
    expect(percentRule.exceeds?.({ type: 'percent', bps: 1000 }, { type: 'percent', bps: 1000 })).toBe(false);
  });
});
