import fc from 'fast-check';
import { CURRENCY_CODES, MAX_MINOR_UNITS } from '../../common/money';
import { carriableMinor, fromStripeAmount, isStripeCurrency, stripeUnit, toStripeAmount } from './stripe-amounts';

const stripeCurrency = fc.constantFrom(...CURRENCY_CODES.filter(isStripeCurrency));
// Far above any amount Stripe accepts (8 digits), yet × 100 (ISK, UGX) still a safe integer.
const minor = fc.integer({ min: 0, max: 10 ** 13 });
const use = fc.constantFrom('charge' as const, 'transfer' as const);

describe('Stripe amounts', () => {
  it.each([
    // Same decimals as ISO: sent as is.
    ...([
      ['USD', 1234, 'transfer', 1234, 0],
      ['EUR', 1, 'charge', 1, 0],
      ['JPY', 500, 'transfer', 500, 0],
      ['KRW', 12345, 'transfer', 12345, 0],
    ] as const),
    // Zero-decimal in ISO, two-decimal at Stripe.
    ...([
      ['ISK', 500, 'transfer', 50_000, 0],
      ['UGX', 7, 'charge', 700, 0],
    ] as const),
    // Two-decimal everywhere, but transfers in whole units.
    ...([
      ['HUF', 123_456, 'transfer', 123_400, 56],
      ['HUF', 123_456, 'charge', 123_456, 0],
      ['TWD', 99, 'transfer', 0, 99],
    ] as const),
    // Three-decimal, the last digit 0; two-decimal in ISO but zero-decimal at Stripe.
    ...([
      ['KWD', 12_345, 'transfer', 12_340, 5],
      ['BHD', 1_000, 'charge', 1_000, 0],
      ['MGA', 12_345, 'transfer', 123, 45],
    ] as const),
  ])('%s %d for a %s → %d at Stripe, %d left over', (currency, amount, purpose, expected, remainder) => {
    expect(toStripeAmount(amount, currency, purpose)).toEqual({ amount: expected, remainder });
  });

  it('reads back what Stripe reports in ISO minor units', () => {
    expect(fromStripeAmount(50_000, 'ISK')).toBe(500);
    expect(fromStripeAmount(123, 'MGA')).toBe(12_300);
    expect(fromStripeAmount(12_340, 'KWD')).toBe(12_340);
    expect(fromStripeAmount(1999, 'USD')).toBe(1999);
  });

  it('refuses a currency Stripe cannot move and amounts that are not minor units', () => {
    for (const currency of ['IQD', 'LYD', 'CLF', 'usd', 'XXX']) {
      expect(isStripeCurrency(currency)).toBe(false);
      expect(() => toStripeAmount(100, currency)).toThrow(/Stripe cannot move money/);
    }
    for (const amount of [-1, 1.5, Number.NaN]) expect(() => toStripeAmount(amount, 'USD')).toThrow(/non-negative integer/);
    expect(() => toStripeAmount(MAX_MINOR_UNITS, 'ISK')).toThrow(/beyond what Stripe/);
  });

  it('round-trips: what is sent plus what is left is the amount, and what is left is below one carriable unit', () => {
    fc.assert(
      fc.property(stripeCurrency, minor, use, (currency, amount, purpose) => {
        const sent = toStripeAmount(amount, currency, purpose);
        expect(fromStripeAmount(sent.amount, currency) + sent.remainder).toBe(amount);
        expect(sent.remainder).toBeGreaterThanOrEqual(0);
        expect(sent.remainder).toBeLessThan(stripeUnit(currency, purpose));
        // What can be carried is carried unchanged.
        expect(toStripeAmount(carriableMinor(amount, currency, purpose), currency, purpose)).toEqual({ amount: sent.amount, remainder: 0 });
      }),
    );
  });

  it('reads back exactly what it sends', () => {
    fc.assert(
      fc.property(stripeCurrency, minor, (currency, amount) => {
        const { amount: sent } = toStripeAmount(amount, currency, 'transfer');
        expect(toStripeAmount(fromStripeAmount(sent, currency), currency, 'transfer').amount).toBe(sent);
      }),
    );
  });
});
