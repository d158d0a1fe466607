import fc from 'fast-check';
import { CandidateBalance, EnabledDestination, eligiblePayees, payableAffiliates } from './payout-eligibility';

const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
const destination = (n: number, rail = 'stripe'): EnabledDestination => ({ affiliateId: id(n), rail, externalAccountId: `acct_${n}` });
const whole = (_rail: string, amount: number) => amount;

describe('payableAffiliates', () => {
  it('keeps the active affiliates (those with a threshold entry) and gives the default to those without their own', () => {
    const thresholds = new Map<string, number | null>([
      [id(1), 5000],
      [id(3), null],
    ]);
    expect(payableAffiliates([destination(1), destination(2), destination(3)], thresholds, 2500)).toEqual([
      { ...destination(1), threshold: 5000 },
      { ...destination(3), threshold: 2500 },
    ]);
  });

  it('a threshold of 0 is the affiliate’s own, not the default', () => {
    expect(payableAffiliates([destination(1)], new Map([[id(1), 0]]), 2500)).toEqual([{ ...destination(1), threshold: 0 }]);
  });
});

describe('eligiblePayees', () => {
  it('pays what the rail carries, and drops an affiliate the rounding takes below its threshold', () => {
    const payable = [
      { ...destination(1), threshold: 1000 },
      { ...destination(2), threshold: 1000 },
    ];
    const candidates: CandidateBalance[] = [
      { affiliateId: id(1), amount: '1050', clawbackNetted: '30' },
      { affiliateId: id(2), amount: '1020', clawbackNetted: '0' },
    ];
    const hundreds = (_rail: string, amount: number) => Math.floor(amount / 100) * 100;
    expect(eligiblePayees(candidates, payable, hundreds)).toEqual([
      { ...payable[0], amount: 1000, clawbackNetted: 30 },
      { ...payable[1], amount: 1000, clawbackNetted: 0 },
    ]);
    expect(eligiblePayees(candidates, [{ ...payable[0], threshold: 1001 }], hundreds)).toEqual([]);
  });

  it('never pays zero, whatever the threshold', () => {
    expect(eligiblePayees([{ affiliateId: id(1), amount: '0', clawbackNetted: '0' }], [{ ...destination(1), threshold: 0 }], whole)).toEqual([]);
  });

  it('asks the carriable amount of the affiliate’s own rail', () => {
    const rails: string[] = [];
    eligiblePayees([{ affiliateId: id(1), amount: '500', clawbackNetted: '0' }], [{ ...destination(1, 'wise'), threshold: 1 }], (rail, amount) => (rails.push(rail), amount));
    expect(rails).toEqual(['wise']);
  });

  it('property: payees are payable candidates, in the candidates’ order, each at or above max(threshold, 1) and at most its balance', () => {
    const affiliate = fc.record({ n: fc.integer({ min: 1, max: 40 }), threshold: fc.integer({ min: 0, max: 5000 }), balance: fc.integer({ min: -100, max: 20_000 }) });
    fc.assert(
      fc.property(fc.uniqueArray(affiliate, { selector: (a) => a.n, maxLength: 30 }), fc.integer({ min: 1, max: 500 }), (affiliates, unit) => {
        const payable = affiliates.filter((a) => a.n % 3 !== 0).map((a) => ({ ...destination(a.n), threshold: a.threshold }));
        const candidates = affiliates.map((a) => ({ affiliateId: id(a.n), amount: String(a.balance), clawbackNetted: '0' }));
        const carriable = (_rail: string, amount: number) => Math.floor(amount / unit) * unit;
        const payees = eligiblePayees(candidates, payable, carriable);
        const payableIds = new Set(payable.map((p) => p.affiliateId));
        const order = candidates.map((c) => c.affiliateId);
        expect(payees.every((p) => payableIds.has(p.affiliateId))).toBe(true);
        expect(payees.map((p) => order.indexOf(p.affiliateId))).toEqual([...payees.map((p) => order.indexOf(p.affiliateId))].sort((a, b) => a - b));
        for (const p of payees) {
          const balance = Number(candidates.find((c) => c.affiliateId === p.affiliateId)?.amount);
          expect(p.amount).toBeGreaterThanOrEqual(Math.max(p.threshold, 1));
          expect(p.amount).toBeLessThanOrEqual(balance);
          expect(p.amount % unit).toBe(0);
        }
        // And nobody payable whose carriable balance reaches the threshold is left out.
        const due = payable.filter((p) => carriable(p.rail, Number(candidates.find((c) => c.affiliateId === p.affiliateId)?.amount)) >= Math.max(p.threshold, 1));
        expect(new Set(payees.map((p) => p.affiliateId))).toEqual(new Set(due.map((p) => p.affiliateId)));
      }),
    );
  });
});
