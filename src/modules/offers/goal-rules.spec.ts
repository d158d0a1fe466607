import type { RateRule } from '../rules';
import { checkGoals } from './goal-rules';

const flat = (amount: number): RateRule => ({ type: 'flat', amount });
const percent = (bps: number): RateRule => ({ type: 'percent', bps });
const A = '0e6f2d1c-1111-4a4a-8b8b-123456789abc';
const B = '0e6f2d1c-2222-4a4a-8b8b-123456789abc';

describe('checkGoals', () => {
  it('accepts distinct keys whose payouts stay within their revenue', () => {
    expect(
      checkGoals([
        { key: 'sale', revenue: percent(1500), payout: percent(1500), overrides: [{ affiliateId: A, payout: percent(1200) }] },
        { key: 'lead', revenue: flat(500), payout: flat(0) },
        { key: 'signup', revenue: flat(0), payout: flat(0), overrides: [] },
      ]),
    ).toEqual([]);
  });

  it('names a repeated goal key at its second place', () => {
    expect(
      checkGoals([
        { key: 'lead', revenue: flat(1), payout: flat(1) },
        { key: 'sale', revenue: flat(1), payout: flat(1) },
        { key: 'lead', revenue: flat(1), payout: flat(1) },
      ]),
    ).toEqual([{ field: 'goals.2.key', message: 'goal key "lead" appears twice' }]);
  });

  it('refuses a payout above a revenue of its own type', () => {
    expect(checkGoals([{ key: 'lead', revenue: flat(100), payout: flat(101) }])).toEqual([{ field: 'goals.0.payout', message: 'the payout of goal "lead" exceeds its revenue' }]);
    expect(checkGoals([{ key: 'sale', revenue: percent(100), payout: percent(101) }])).toEqual([
      { field: 'goals.0.payout', message: 'the payout of goal "sale" exceeds its revenue' },
    ]);
  });

  it('leaves a flat against a percent rule to the sale (not comparable up front)', () => {
    expect(checkGoals([{ key: 'sale', revenue: percent(1), payout: flat(1_000_000), overrides: [{ affiliateId: A, payout: flat(1_000_000) }] }])).toEqual([]);
    expect(checkGoals([{ key: 'lead', revenue: flat(1), payout: percent(10_000) }])).toEqual([]);
  });

  it('refuses a second override of one affiliate and an override above the revenue, by field', () => {
    expect(
      checkGoals([
        {
          key: 'lead',
          revenue: flat(500),
          payout: flat(300),
          overrides: [
            { affiliateId: A, payout: flat(400) },
            { affiliateId: B, payout: flat(501) },
            { affiliateId: A, payout: flat(100) },
          ],
        },
      ]),
    ).toEqual([
      { field: 'goals.0.overrides.1.payout', message: 'the override payout of goal "lead" exceeds its revenue' },
      { field: 'goals.0.overrides.2.affiliateId', message: 'an affiliate may have one override per goal' },
    ]);
  });

  it('reports every problem of every goal, in goal order', () => {
    const problems = checkGoals([
      { key: 'a', revenue: flat(1), payout: flat(2) },
      { key: 'a', revenue: percent(1), payout: percent(2), overrides: [{ affiliateId: A, payout: percent(3) }] },
    ]);
    expect(problems.map((p) => p.field)).toEqual(['goals.0.payout', 'goals.1.key', 'goals.1.payout', 'goals.1.overrides.0.payout']);
  });
});
