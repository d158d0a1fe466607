import fc from 'fast-check';
import { linesOf } from './billing.service';
import { creditLines, writeOffLines, writeOffReversalLines } from './billing.postings';

const ADV = { advertiserId: '00000000-0000-4000-8000-000000000022', currency: 'USD' };
const sum = (lines: { amount: number }[]) => lines.reduce((s, l) => s + l.amount, 0);

describe('invoice lines', () => {
  it('are exactly the tagged rows: one line per offer and goal, amounts and counts adding up to theirs', () => {
    const row = fc.record({
      offer_id: fc.constantFrom('o1', 'o2', 'o3'),
      goal_key: fc.constantFrom('lead', 'sale'),
      revenue: fc.integer({ min: 1, max: 10_000_000 }).map(String),
    });
    fc.assert(
      fc.property(fc.array(row, { maxLength: 60 }), (rows) => {
        const lines = linesOf(
          rows,
          new Map([
            ['o1', 'Offer one'],
            ['o2', 'Offer two'],
            ['o3', 'Offer three'],
          ]),
        );
        expect(sum(lines)).toBe(rows.reduce((s, r) => s + Number(r.revenue), 0));
        expect(lines.reduce((n, l) => n + l.conversions, 0)).toBe(rows.length);
        expect(new Set(lines.map((l) => `${l.offerId}|${l.goal}`)).size).toBe(lines.length);
        expect(lines.every((l) => l.offerName === { o1: 'Offer one', o2: 'Offer two', o3: 'Offer three' }[l.offerId])).toBe(true);
      }),
    );
  });
});

describe('billing postings', () => {
  it('balance, and move the receivable the way the README says', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1e12 }), (amount) => {
        for (const lines of [writeOffLines(ADV, amount), writeOffReversalLines(ADV, amount), creditLines(ADV, amount, 'paid'), creditLines(ADV, amount, 'uncollectible')])
          expect(sum(lines)).toBe(0);
        expect(writeOffLines(ADV, amount).find((l) => l.account.type === 'advertiser_receivable')?.amount).toBe(-amount);
        expect(creditLines(ADV, amount, 'paid').map((l) => [l.account.type, l.amount])).toEqual([
          ['advertiser_receivable', amount],
          ['stripe_clearing', -amount],
        ]);
        expect(creditLines(ADV, amount, 'uncollectible')[1].account.type).toBe('network_margin');
      }),
    );
  });

  it('refuse zero, negative and fractional amounts', () => {
    for (const bad of [0, -1, 1.5, Number.NaN]) expect(() => writeOffLines(ADV, bad)).toThrow(/positive integer/);
  });
});
