import { CurrencySection, StatementLine, StatementLineType, StatementModel, StatementDoesNotAddUpError, assertAddsUp, checkAddsUp, totalsOfLines } from './statement.model';

function line(type: StatementLineType, amount: number): StatementLine {
  return { at: new Date('2025-01-15T10:00:00Z'), type, offerName: null, goal: null, txnId: null, saleAmount: null, amount, status: null, reference: null };
}

/** A month with one line of every type: 100.00 earned, 10.00 reversed, 5.00 clawed back, 50.00 paid, 20.00 returned, 1.50 adjusted. */
function usdSection(): CurrencySection {
  return {
    currency: 'USD',
    opening: 10_000,
    closing: 15_650,
    totals: { earned: 10_000, reversed: -1_000, clawbacks: -500, paid: -3_000, adjustments: 150, bonuses: 0 },
    lines: [line('conversion', 10_000), line('reversal', -1_000), line('clawback', -500), line('payout', -5_000), line('payout_returned', 2_000), line('adjustment', 150)],
  };
}

describe('totalsOfLines', () => {
  it('adds each line type into its total; payouts net of returned payouts', () => {
    expect(totalsOfLines(usdSection().lines)).toEqual(usdSection().totals);
  });

  it('is all zeros without lines', () => {
    expect(totalsOfLines([])).toEqual({ earned: 0, reversed: 0, clawbacks: 0, paid: 0, adjustments: 0, bonuses: 0 });
  });
});

describe('checkAddsUp', () => {
  it('accepts a section that adds up to the minor unit', () => {
    expect(checkAddsUp(usdSection())).toBeNull();
  });

  it('accepts an empty period whose closing equals its opening', () => {
    const zeros = { earned: 0, reversed: 0, clawbacks: 0, paid: 0, adjustments: 0, bonuses: 0 };
    expect(checkAddsUp({ currency: 'JPY', opening: 500, closing: 500, totals: zeros, lines: [] })).toBeNull();
  });

  it('names a closing balance one cent off', () => {
    const section = { ...usdSection(), closing: 15_651 };
    expect(checkAddsUp(section)).toBe('USD: closing 156.51 ≠ opening 100.00 + lines 56.50 = 156.50');
  });

  it.each([
    ['earned', 9_999, 'earned 99.99 ≠ sum of conversion lines 100.00'],
    ['reversed', 1_000, 'reversed 10.00 ≠ sum of reversal lines -10.00'],
    ['clawbacks', 0, 'clawbacks 0.00 ≠ sum of clawback lines -5.00'],
    ['paid', -5_000, 'paid -50.00 ≠ sum of payout + payout_returned + payout_reversed lines -30.00'],
    ['adjustments', 151, 'adjustments 1.51 ≠ sum of adjustment lines 1.50'],
  ] as const)('names a wrong %s total', (key, value, message) => {
    const section = usdSection();
    section.totals[key] = value;
    expect(checkAddsUp(section)).toBe(`USD: ${message}`);
  });

  it('lists every difference at once', () => {
    const section = { ...usdSection(), closing: 0 };
    section.totals.earned = 0;
    expect(checkAddsUp(section)?.split('; ')).toHaveLength(2);
  });

  it('notices a line moved between kinds even when the balance still adds up', () => {
    const section = usdSection();
    section.lines[1] = line('clawback', -1_000);
    expect(checkAddsUp(section)).toMatch(/reversed .* ≠ .*; clawbacks/);
  });

  it.each([
    ['a fractional amount', (s: CurrencySection) => void (s.lines[0].amount = 10_000.5), /not a safe integer/],
    ['a fractional total', (s: CurrencySection) => void (s.totals.paid = 0.1), /≠|not a safe integer/],
    ['an unknown currency', (s: CurrencySection) => void (s.currency = 'usd'), /unknown currency/],
    ['an unknown line type', (s: CurrencySection) => void (s.lines[0].type = 'fee' as StatementLineType), /unknown line type "fee"/],
  ])('reports %s instead of throwing', (_what, spoil, message) => {
    const section = usdSection();
    spoil(section);
    expect(checkAddsUp(section)).toMatch(message);
  });
});

describe('assertAddsUp', () => {
  const model = (sections: CurrencySection[]): StatementModel => ({
    affiliate: { id: 'aff_1', name: 'A', email: 'a@example.com' },
    network: { name: 'N' },
    period: { from: new Date('2025-01-01T00:00:00Z'), to: new Date('2025-02-01T00:00:00Z'), timezone: 'UTC' },
    generatedAt: new Date('2025-02-01T00:00:00Z'),
    sections,
  });

  it('passes a statement whose sections all add up', () => {
    expect(() => assertAddsUp(model([usdSection()]))).not.toThrow();
  });

  it('throws naming the affiliate and the section', () => {
    const broken = { ...usdSection(), currency: 'EUR', closing: 1 };
    expect(() => assertAddsUp(model([usdSection(), broken]))).toThrow(StatementDoesNotAddUpError);
    expect(() => assertAddsUp(model([broken]))).toThrow(/affiliate aff_1: EUR: closing 0.01/);
  });
});
