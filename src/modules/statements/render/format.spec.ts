import fc from 'fast-check';
import { MAX_MINOR_UNITS } from '../../../common/money';
import { formatDateTime, formatMoney, formatPeriod, groupThousands } from './format';

describe('groupThousands', () => {
  it.each([
    ['0', '0'],
    ['999', '999'],
    ['1000', '1,000'],
    ['-1000', '-1,000'],
    ['1234.50', '1,234.50'],
    ['-1234567.891', '-1,234,567.891'],
    ['100000.0001', '100,000.0001'],
    ['9999999999999.99', '9,999,999,999,999.99'],
  ])('%s → %s', (input, expected) => {
    expect(groupThousands(input)).toBe(expected);
  });

  it.each(['', '1e3', '1,000', '.5', 'abc'])('refuses %j', (input) => {
    expect(() => groupThousands(input)).toThrow();
  });

  it('only inserts commas into the whole part', () => {
    fc.assert(
      fc.property(fc.integer({ min: -MAX_MINOR_UNITS, max: MAX_MINOR_UNITS }), (minor) => {
        const grouped = formatMoney(minor, 'USD');
        expect(grouped).toMatch(/^-?\d{1,3}(,\d{3})*\.\d{2} USD$/);
        expect(BigInt(grouped.replace(/[,. ]|USD/g, ''))).toBe(BigInt(minor));
      }),
    );
  });
});

describe('formatMoney', () => {
  it.each([
    [123_450, 'USD', '1,234.50 USD'],
    [-5, 'EUR', '-0.05 EUR'],
    [1_234_567, 'JPY', '1,234,567 JPY'],
    [1_234_567, 'KWD', '1,234.567 KWD'],
    [0, 'GBP', '0.00 GBP'],
  ])('%i %s → %s', (amount, currency, expected) => {
    expect(formatMoney(amount, currency)).toBe(expected);
  });
});

describe('formatDateTime', () => {
  const at = new Date('2025-03-30T01:30:00Z');

  it.each([
    ['UTC', '2025-03-30 01:30'],
    ['Europe/Berlin', '2025-03-30 03:30'], // the night summer time starts
    ['America/New_York', '2025-03-29 21:30'],
    ['Asia/Kolkata', '2025-03-30 07:00'],
  ])('shows the wall clock in %s', (zone, expected) => {
    expect(formatDateTime(at, zone)).toBe(expected);
  });

  it('prints midnight as 00, not 24', () => {
    expect(formatDateTime(new Date('2025-01-01T00:00:00Z'), 'UTC')).toBe('2025-01-01 00:00');
  });

  it('refuses an unknown time zone', () => {
    expect(() => formatDateTime(at, 'Mars/Olympus')).toThrow(RangeError);
  });
});

describe('formatPeriod', () => {
  it('names whole local days with the last day included', () => {
    const period = { from: new Date('2024-12-31T23:00:00Z'), to: new Date('2025-01-31T23:00:00Z'), timezone: 'Europe/Berlin' };
    expect(formatPeriod(period)).toBe('2025-01-01 to 2025-01-31');
  });

  it('shows both instants when the bounds are not local midnights', () => {
    const period = { from: new Date('2025-01-01T00:00:00Z'), to: new Date('2025-01-01T12:00:00Z'), timezone: 'Europe/Berlin' };
    expect(formatPeriod(period)).toBe('2025-01-01 01:00 to 2025-01-01 13:00');
  });
});
