import fc from 'fast-check';
import { localIso, quotient, toSafeNumber } from './report-math';

describe('quotient', () => {
  it.each([
    [1n, 3n, 2, 0.33],
    [2n, 3n, 2, 0.67],
    [1n, 8n, 2, 0.13], // 0.125 → 0.13, half away from zero
    [-1n, 8n, 2, -0.13],
    [1n, -8n, 2, -0.13],
    [-1n, -8n, 2, 0.13],
    [1n, 400n, 2, 0], // 0.0025 → 0.00, never -0
    [-1n, 400n, 2, 0],
    [1234n, 10n, 2, 123.4],
    [5n, 2n, 0, 3],
    [1n, 4n, 4, 0.25],
    [2n, 3n, 4, 0.6667],
    // eslint-disable-next-line no-loss-of-precision -- the float the division is compared against, imprecise on purpose
    [10n ** 20n, 3n, 2, 33333333333333333333.33],
  ])('%p / %p to %i places = %p', (n, d, places, expected) => {
    expect(Object.is(quotient(n, d, places), expected)).toBe(true);
  });

  it('is null for a zero denominator', () => {
    expect(quotient(5n, 0n, 2)).toBeNull();
    expect(quotient(0n, 0n, 4)).toBeNull();
  });

  it('is within half a unit of the last place of the exact quotient, on the same side of zero', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(10n ** 13n), max: 10n ** 13n }), fc.bigInt({ min: 1n, max: 10n ** 9n }), fc.boolean(), (n, d, negate) => {
        const denominator = negate ? -d : d;
        const q = quotient(n, denominator, 2) as number;
        // |q·100·d − n·100| ≤ d/2 in integers, for amounts where a double still holds every cent.
        const cents = BigInt(Math.round(q * 100));
        const error = cents * denominator - n * 100n;
        expect(2n * (error < 0n ? -error : error)).toBeLessThanOrEqual(d);
        if (q !== 0) expect(q < 0).toBe(n < 0n !== denominator < 0n);
      }),
    );
  });
});

describe('toSafeNumber', () => {
  it('refuses sums past 2^53', () => {
    expect(toSafeNumber(2n ** 53n - 1n)).toBe(Number.MAX_SAFE_INTEGER);
    expect(() => toSafeNumber(2n ** 53n)).toThrow(RangeError);
  });
});

describe('localIso', () => {
  it.each([
    ['2026-10-25T02:00:00', 120, '2026-10-25T02:00:00+02:00'],
    ['2026-10-25T02:00:00', 60, '2026-10-25T02:00:00+01:00'],
    ['2026-03-29T00:30:00', 330, '2026-03-29T00:30:00+05:30'],
    ['2026-03-28T20:00:00', -240, '2026-03-28T20:00:00-04:00'],
    ['2026-03-28T20:00:00', -570, '2026-03-28T20:00:00-09:30'],
    ['2026-03-28T20:00:00', 0, '2026-03-28T20:00:00+00:00'],
  ])('%s at %i minutes is %s', (wall, offset, expected) => {
    expect(localIso(wall, offset)).toBe(expected);
  });
});
