import fc from 'fast-check';
import { bonusClawbackLines, bonusLines, checkPosting, commissionLines, approvalLines, fundingLines, fundingMoveLines, PostingLine, reversalLines } from './ledger.postings';

const AFF = '11111111-1111-4111-8111-111111111111';
const ADV = '22222222-2222-4222-8222-222222222222';
const show = (lines: PostingLine[]) => lines.map((l) => `${l.account.type} ${l.amount}`);
const balanced = (lines: PostingLine[]) => checkPosting({ kind: 'x', causeType: 'conversion', causeId: 'c', lines });

function net(...postings: PostingLine[][]): Record<string, number> {
  const totals: Record<string, number> = {};
  for (const l of postings.flat()) {
    totals[l.account.type] = (totals[l.account.type] ?? 0) + l.amount;
    if (totals[l.account.type] === 0) delete totals[l.account.type];
  }
  return totals;
}

describe('posting patterns of the commission programs', () => {
  const party = { affiliateId: AFF, advertiserId: ADV, currency: 'USD' };

  it('bonus: Dr receivable, Cr available; its clawback takes it back from available, the rest as clawback', () => {
    expect(show(bonusLines(party, 1000))).toEqual(['advertiser_receivable 1000', 'affiliate_available -1000']);
    expect(show(bonusClawbackLines(party, 1000, 5000))).toEqual(['affiliate_available 1000', 'advertiser_receivable -1000']);
    expect(show(bonusClawbackLines(party, 1000, 300))).toEqual(['affiliate_available 300', 'affiliate_clawback 700', 'advertiser_receivable -1000']);
    expect(show(bonusClawbackLines(party, 1000, -50))).toEqual(['affiliate_clawback 1000', 'advertiser_receivable -1000']);
    expect(net(bonusLines(party, 1000), bonusClawbackLines(party, 1000, 1000))).toEqual({});
  });

  it('prepaid: a top-up, then reserve → spend nets the receivable to zero; release and refund give it back to the funds', () => {
    const fund = { advertiserId: ADV, currency: 'USD' };
    const c = { affiliateId: AFF, advertiserId: ADV, currency: 'USD', revenue: 600, payout: 400 };
    expect(show(fundingLines(fund, 5000))).toEqual(['funding_clearing 5000', 'advertiser_funds -5000']);
    expect(show(fundingMoveLines('funding_reserve', fund, 600))).toEqual(['advertiser_funds 600', 'advertiser_reserved -600']);
    // Recorded, approved: the receivable the commission raised is paid from the reserve.
    const approved = [fundingLines(fund, 5000), commissionLines(c), fundingMoveLines('funding_reserve', fund, 600), approvalLines(c), fundingMoveLines('funding_spend', fund, 600)];
    expect(net(...approved)).toEqual({ funding_clearing: 5000, advertiser_funds: -4400, affiliate_available: -400, network_margin: -200 });
    // Reversed after approval: everything back where the top-up left it.
    expect(net(...approved, reversalLines(c, 'approved'), fundingMoveLines('funding_refund', fund, 600))).toEqual({ funding_clearing: 5000, advertiser_funds: -5000 });
    // Rejected before approval: the reserve goes back.
    expect(net(fundingLines(fund, 5000), fundingMoveLines('funding_reserve', fund, 600), fundingMoveLines('funding_release', fund, 600))).toEqual({
      funding_clearing: 5000,
      advertiser_funds: -5000,
    });
  });

  it('every pattern balances, whatever the amounts', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10_000_000 }), fc.integer({ min: -10_000_000, max: 10_000_000 }), (amount, available) => {
        for (const lines of [
          bonusLines(party, amount),
          bonusClawbackLines(party, amount, available),
          fundingLines(party, amount),
          ...(['funding_reserve', 'funding_spend', 'funding_release', 'funding_refund'] as const).map((m) => fundingMoveLines(m, party, amount)),
        ])
          expect(() => balanced(lines)).not.toThrow();
      }),
    );
  });
});
