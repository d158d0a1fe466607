import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { MoneyError } from '../../common/money';
import { TieredRule, tieredRule, TieredRuleFields, tierIndex, tierProblem } from './tiered.rule';

const rule = (basis: TieredRule['basis'] = 'conversions'): TieredRule => ({
  type: 'tiered',
  basis,
  period: 'month',
  tiers: [
    { from: 0, rule: { type: 'flat', amount: 300 } },
    { from: 50, rule: { type: 'flat', amount: 450 } },
    { from: 100, rule: { type: 'percent', bps: 1200 } },
  ],
});
const context = (conversions: number, saleAmount = 0, sale: number | null = 10_000) => ({
  saleAmount: sale,
  currency: 'USD',
  monthlyVolume: jest.fn(async () => ({ conversions, saleAmount })),
});

describe('tiered rule', () => {
  it.each([
    [0, 300, 1],
    [49, 300, 1],
    [50, 450, 2], // the 51st conversion of the month is the first of tier 2
    [99, 450, 2],
    [100, 1200, 3], // 12% of 100.00
    [5000, 1200, 3],
  ])('with %i conversions before this one pays %i (tier %i)', async (before, amount, number) => {
    const result = await tieredRule.apply(rule(), context(before));
    expect(result.amount).toBe(amount);
    expect(result.applied).toEqual({ ...rule(), tier: { number, from: rule().tiers[number - 1].from, volume: before, rule: rule().tiers[number - 1].rule } });
  });

  it('counts the sale amount when its basis says so, reading the volume once', async () => {
    const c = context(3, 49);
    expect((await tieredRule.apply(rule('saleAmount'), c)).amount).toBe(300);
    expect((await tieredRule.apply(rule('saleAmount'), context(0, 50))).amount).toBe(450);
    expect(c.monthlyVolume).toHaveBeenCalledTimes(1);
  });

  it('rounds as its tier rule does, and refuses without the volume loader or with broken tiers', async () => {
    expect(await tieredRule.apply(rule(), context(100, 0, 4_999))).toMatchObject({ amount: 600, rounding: 'half_up' });
    await expect(tieredRule.apply(rule(), { saleAmount: 1, currency: 'USD' })).rejects.toThrow(MoneyError);
    await expect(tieredRule.apply({ ...rule(), tiers: [{ from: 5, rule: { type: 'flat', amount: 1 } }] }, context(1))).rejects.toThrow(MoneyError);
  });

  it('needs a sale amount only when a tier is a percent', () => {
    expect(tieredRule.needsSaleAmount(rule())).toBe(true);
    expect(tieredRule.needsSaleAmount({ ...rule(), tiers: rule().tiers.slice(0, 2) })).toBe(false);
  });

  it('keeps only its own fields, and describes its tiers', () => {
    const input = { ...rule(), amount: 5, tier: { number: 1 }, tiers: [{ from: 0, rule: { type: 'flat', amount: 3, bps: 9 } }] } as { type: string };
    expect(tieredRule.normalize(input)).toEqual({ type: 'tiered', basis: 'conversions', period: 'month', tiers: [{ from: 0, rule: { type: 'flat', amount: 3 } }] });
    const format = { money: (a: number) => `$${(a / 100).toFixed(2)}`, percent: (b: number) => `${b / 100}%` };
    expect(tieredRule.describe(rule(), format)).toBe('tiered by conversions this month: 0+: $3.00, 50+: $4.50, 100+: 12%');
    expect(tieredRule.describe(rule('saleAmount'), format)).toBe('tiered by sales this month: $0.00+: $3.00, $0.50+: $4.50, $1.00+: 12%');
  });

  it('picks the last tier reached', () => {
    expect(tierIndex(rule().tiers, 0)).toBe(0);
    expect(tierIndex(rule().tiers, 50)).toBe(1);
    expect(tierIndex(rule().tiers, 10_000)).toBe(2);
  });

  it('refuses thresholds that do not start at 0 or do not strictly increase, naming the tier', () => {
    expect(tierProblem([{ from: 0 }, { from: 10 }])).toBeNull();
    expect(tierProblem([])).toMatch(/at least one/);
    expect(tierProblem([{ from: 1 }])).toMatch(/^tiers\.0\.from must be 0/);
    expect(tierProblem([{ from: 0 }, { from: 10 }, { from: 10 }])).toMatch(/^tiers\.2\.from must be greater than tiers\.1\.from/);
    expect(tierProblem([{ from: 0 }, { from: 10 }, { from: 5 }])).toMatch(/^tiers\.2\.from/);
  });

  it('validates the request fields: basis, period, tiers and each tier rule', () => {
    const errors = (body: object) =>
      validateSync(plainToInstance(TieredRuleFields, { type: 'tiered', ...body }) as object).map((e) => [e.property, Object.keys(e.constraints ?? {}), e.children?.length ?? 0]);
    expect(errors({ basis: 'conversions', period: 'month', tiers: [{ from: 0, rule: { type: 'flat', amount: 1 } }] })).toEqual([]);
    expect(
      errors({
        basis: 'clicks',
        period: 'week',
        tiers: [
          { from: -1, rule: { type: 'tiered' } },
          { from: 0, rule: { type: 'flat', amount: 1 } },
        ],
      }),
    ).toEqual([
      ['basis', ['isIn'], 0],
      ['period', ['isIn'], 0],
      ['tiers', ['increasingTiers'], 1],
    ]);
  });
});
