import fc from 'fast-check';
import type { ConversionStatus } from './conversion.entity';
import { approvalLines, checkPosting, commissionLines, LEDGER_KINDS, reversalLines } from '../ledger/ledger.postings';
import { CommissionFacts, missingPostings } from './commission-postings';

const AFF = '0e6f2d1c-1111-4a4a-8b8b-123456789abc';
const ADV = '0e6f2d1c-2222-4a4a-8b8b-123456789abc';
const facts = (status: ConversionStatus, patch: Partial<CommissionFacts> = {}): CommissionFacts => ({
  id: 'c1',
  advertiserId: ADV,
  affiliateId: AFF,
  currency: 'USD',
  revenue: 1500,
  payout: 1000,
  status,
  goalKey: 'sale',
  txnId: 'T-1',
  ...patch,
});
const amounts = { affiliateId: AFF, advertiserId: ADV, currency: 'USD', revenue: 1500, payout: 1000 };
const { commission, approval, reversal } = LEDGER_KINDS;
const kinds = (...k: string[]) => new Set(k);
const posting = (kind: string, lines: unknown) => ({ kind, causeType: 'conversion', causeId: 'c1', memo: 'sale T-1', lines });

describe('missingPostings', () => {
  it.each([
    ['pending', [], [commission]],
    ['pending', [commission], []],
    ['approved', [], [commission, approval]],
    ['approved', [commission], [approval]],
    ['approved', [commission, approval], []],
    ['paid', [], [commission, approval]],
    ['paid', [commission, approval], []],
  ] as [ConversionStatus, string[], string[]][])('%s with %j posted misses %j', (status, posted, missing) => {
    expect(missingPostings(facts(status), kinds(...posted), null).map((p) => p.kind)).toEqual(missing);
  });

  it('posts the commission and approval patterns, caused by the conversion, with goal and txn as memo', () => {
    expect(missingPostings(facts('approved'), kinds(), null)).toEqual([posting(commission, commissionLines(amounts)), posting(approval, approvalLines(amounts))]);
  });

  it('reverses from where the payout sits: pending, approved (available) or paid (clawback)', () => {
    expect(missingPostings(facts('rejected'), kinds(commission), 'pending')).toEqual([posting(reversal, reversalLines(amounts, 'pending'))]);
    expect(missingPostings(facts('reversed'), kinds(commission, approval), 'approved')).toEqual([posting(reversal, reversalLines(amounts, 'approved'))]);
    expect(missingPostings(facts('reversed'), kinds(commission, approval), 'paid')).toEqual([posting(reversal, reversalLines(amounts, 'paid'))]);
    // The approval entry, not the event trail, says whether the payout reached available.
    expect(missingPostings(facts('reversed'), kinds(commission), null)).toEqual([posting(reversal, reversalLines(amounts, 'pending'))]);
    expect(missingPostings(facts('reversed'), kinds(commission, approval), null)).toEqual([posting(reversal, reversalLines(amounts, 'approved'))]);
  });

  it('posts nothing for an ended conversion that never earned or is already reversed, nor for an unattributed one', () => {
    expect(missingPostings(facts('rejected'), kinds(), 'pending')).toEqual([]);
    expect(missingPostings(facts('reversed'), kinds(commission, reversal), 'pending')).toEqual([]);
    expect(missingPostings(facts('reversed'), kinds(commission, approval, reversal), 'paid')).toEqual([]);
    expect(missingPostings(facts('unattributed'), kinds(), null)).toEqual([]);
  });

  it('asks the available cover only for a reversal from approved, and books the rest as a clawback', () => {
    const asked: [string, string, number][] = [];
    const cover = (affiliateId: string, currency: string, wanted: number) => {
      asked.push([affiliateId, currency, wanted]);
      return 400;
    };
    expect(missingPostings(facts('reversed'), kinds(commission, approval), 'approved', cover)).toEqual([posting(reversal, reversalLines(amounts, 'approved', 400))]);
    expect(asked).toEqual([[AFF, 'USD', 1000]]);
    missingPostings(facts('reversed'), kinds(commission), 'pending', cover);
    missingPostings(facts('reversed'), kinds(commission, approval), 'paid', cover);
    missingPostings(facts('approved'), kinds(), null, cover);
    expect(asked).toHaveLength(1);
  });

  it('leaves out empty patterns: a zero payout and zero revenue post nothing', () => {
    expect(missingPostings(facts('approved', { revenue: 0, payout: 0 }), kinds(), null)).toEqual([]);
  });

  it('is idempotent and balanced for any status, amounts and kinds already posted', () => {
    const statuses: ConversionStatus[] = ['pending', 'approved', 'paid', 'rejected', 'reversed'];
    fc.assert(
      fc.property(
        fc.constantFrom(...statuses),
        fc.subarray([commission, approval, reversal]),
        fc.constantFrom<string | null>(null, 'pending', 'approved', 'paid'),
        fc.integer({ min: 0, max: 1_000_000 }),
        fc.integer({ min: 0, max: 1_000_000 }),
        (status, posted, before, revenue, payout) => {
          const conversion = facts(status, { revenue, payout });
          const first = missingPostings(conversion, kinds(...posted), before);
          for (const p of first) {
            expect(posted).not.toContain(p.kind); // never posts a kind twice
            expect(() => checkPosting(p)).not.toThrow(); // each entry balances per currency
          }
          const after = kinds(...posted, ...first.map((p) => p.kind));
          // Once an attempt's entries exist, another attempt finds nothing to post.
          expect(missingPostings(conversion, after, before)).toEqual([]);
        },
      ),
    );
  });
});
