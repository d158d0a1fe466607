import fc from 'fast-check';
import {
  CURRENCY_CODES,
  CURRENCY_EXPONENTS,
  MAX_MINOR_UNITS,
  MoneyError,
  MoneyErrorCode,
  addMinor,
  applyBps,
  applyBpsExact,
  assertMinorUnits,
  currencyExponent,
  formatMinorUnits,
  isCurrency,
  parseDecimalAmount,
  sumMinor,
} from './index';

function moneyErrorCode(fn: () => unknown): MoneyErrorCode | 'no error' {
  try {
    fn();
  } catch (err) {
    if (err instanceof MoneyError) return err.code;
    throw err;
  }
  return 'no error';
}

/** Reference rounding for non-negative amounts: floor((a·bps + 5000) / 10000). */
function referenceBps(amount: number, bps: number): number {
  return Number((BigInt(amount) * BigInt(bps) * 2n + 10_000n) / 20_000n);
}

const currency = fc.constantFrom(...CURRENCY_CODES);
const storedAmount = fc.integer({ min: 0, max: MAX_MINOR_UNITS });
const safeAmount = fc.maxSafeInteger();
const bps = fc.integer({ min: 0, max: 10_000 });

describe('MoneyError', () => {
  it('is an Error carrying a machine-readable code', () => {
    const err = new MoneyError('invalid_amount', 'bad');
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('MoneyError');
    expect(err.code).toBe('invalid_amount');
    expect(err.message).toBe('bad');
  });
});

describe('currencies', () => {
  it.each([
    ['USD', 2],
    ['EUR', 2],
    ['GBP', 2],
    ['JPY', 0],
    ['KRW', 0],
    ['CLP', 0],
    ['VND', 0],
    ['ISK', 0],
    ['UGX', 0],
    ['XOF', 0],
    ['KWD', 3],
    ['BHD', 3],
    ['JOD', 3],
    ['OMR', 3],
    ['TND', 3],
    ['LYD', 3],
    ['IQD', 3],
    ['CLF', 4],
    ['UYW', 4],
    ['XCG', 2],
    ['ZWG', 2],
    ['SLE', 2],
    ['VED', 2],
  ])('%s has exponent %i', (code, exponent) => {
    expect(isCurrency(code)).toBe(true);
    expect(currencyExponent(code)).toBe(exponent);
  });

  it.each(['XAU', 'XAG', 'XPT', 'XPD', 'XTS', 'XXX', 'XDR', 'XSU', 'XUA', 'XBA', 'XBB', 'XBC', 'XBD'])('leaves out the non-currency code %s', (code) =>
    expect(isCurrency(code)).toBe(false),
  );

  it.each(['HRK', 'CUC', 'ZWL', 'SLL', 'ANG', 'DEM', 'VEF'])('leaves out the withdrawn code %s', (code) => expect(isCurrency(code)).toBe(false));

  it.each(['usd', 'Usd', ' USD', 'USD ', 'USDD', 'US', '', 'ÜSD', 'constructor', 'toString', '__proto__'])('rejects %j', (code) => {
    expect(isCurrency(code)).toBe(false);
    expect(moneyErrorCode(() => currencyExponent(code))).toBe('unknown_currency');
  });

  it('lists every code once, sorted, with an exponent of 0, 2, 3 or 4', () => {
    expect(CURRENCY_CODES).toEqual([...CURRENCY_CODES].sort());
    expect(new Set(CURRENCY_CODES).size).toBe(CURRENCY_CODES.length);
    expect(CURRENCY_CODES).toEqual(Object.keys(CURRENCY_EXPONENTS).sort());
    expect(CURRENCY_CODES.length).toBeGreaterThan(150);
    for (const code of CURRENCY_CODES) {
      expect(code).toMatch(/^[A-Z]{3}$/);
      expect([0, 2, 3, 4]).toContain(CURRENCY_EXPONENTS[code]);
    }
  });

  it('cannot be modified at run time', () => {
    expect(Object.isFrozen(CURRENCY_EXPONENTS)).toBe(true);
  });
});

describe('parseDecimalAmount', () => {
  it.each([
    ['49.99', 'USD', 4999],
    ['49.9', 'USD', 4990],
    ['49', 'USD', 4900],
    ['0.5', 'EUR', 50],
    ['0', 'EUR', 0],
    ['0.00', 'EUR', 0],
    ['007.10', 'EUR', 710],
    ['100', 'JPY', 100],
    ['1.234', 'KWD', 1234],
    ['1.2', 'KWD', 1200],
    ['1.2345', 'CLF', 12345],
    ['1', 'CLF', 10000],
    ['9999999999999.99', 'USD', MAX_MINOR_UNITS],
    ['999999999999999', 'JPY', MAX_MINOR_UNITS],
    ['99999999999.9999', 'CLF', MAX_MINOR_UNITS],
  ])('%j %s → %i', (input, code, expected) => {
    expect(parseDecimalAmount(input, code)).toBe(expected);
  });

  it.each([
    '',
    '.',
    '.5',
    '5.',
    '-1',
    '-0',
    '+1',
    '1e3',
    '1E3',
    '1,000',
    '1 000',
    ' 1',
    '1 ',
    '1\n',
    '1.2.3',
    '1..2',
    'NaN',
    'Infinity',
    '0x10',
    '١٢',
    '１',
    '12_3',
    '1234567890123456789',
  ])('rejects %j as invalid_amount', (input) => {
    expect(moneyErrorCode(() => parseDecimalAmount(input, 'USD'))).toBe('invalid_amount');
  });

  it('rejects non-string input at run time', () => {
    expect(moneyErrorCode(() => parseDecimalAmount(12 as unknown as string, 'USD'))).toBe('invalid_amount');
  });

  it.each([
    ['100.5', 'JPY'],
    ['0.01', 'JPY'],
    ['49.999', 'USD'],
    ['10.5001', 'EUR'],
    ['1.2345', 'KWD'],
    ['1.00001', 'CLF'],
    ['10.500', 'EUR'],
    ['10.50000000000000000000', 'EUR'],
    ['100.0', 'JPY'],
  ])('refuses any digit past the exponent, zeros too: %j %s', (input, code) => {
    expect(moneyErrorCode(() => parseDecimalAmount(input, code))).toBe('too_many_decimals');
  });

  it.each([
    ['10000000000000.00', 'USD'],
    ['1000000000000000', 'JPY'],
    ['999999999999999999', 'JPY'],
    ['999999999999999999.9999', 'CLF'],
  ])('refuses %j %s above MAX_MINOR_UNITS', (input, code) => {
    expect(moneyErrorCode(() => parseDecimalAmount(input, code))).toBe('amount_out_of_range');
  });

  it('checks the currency before the amount', () => {
    expect(moneyErrorCode(() => parseDecimalAmount('1', 'usd'))).toBe('unknown_currency');
    expect(moneyErrorCode(() => parseDecimalAmount('oops', 'XAU'))).toBe('unknown_currency');
  });
});

describe('formatMinorUnits', () => {
  it.each([
    [1050, 'EUR', '10.50'],
    [0, 'EUR', '0.00'],
    [5, 'USD', '0.05'],
    [-5, 'USD', '-0.05'],
    [-1050, 'EUR', '-10.50'],
    [100, 'JPY', '100'],
    [-100, 'JPY', '-100'],
    [0, 'JPY', '0'],
    [1234, 'KWD', '1.234'],
    [7, 'KWD', '0.007'],
    [12345, 'CLF', '1.2345'],
    [1, 'CLF', '0.0001'],
    [MAX_MINOR_UNITS, 'USD', '9999999999999.99'],
    [Number.MAX_SAFE_INTEGER, 'USD', '90071992547409.91'],
    [Number.MIN_SAFE_INTEGER, 'JPY', '-9007199254740991'],
  ])('(%i, %s) → %j', (amount, code, expected) => {
    expect(formatMinorUnits(amount, code)).toBe(expected);
  });

  it('never prints negative zero', () => {
    expect(formatMinorUnits(-0, 'USD')).toBe('0.00');
  });

  it.each([1.5, NaN, Infinity, -Infinity, 2 ** 53])('rejects %p as invalid_amount', (amount) => {
    expect(moneyErrorCode(() => formatMinorUnits(amount, 'USD'))).toBe('invalid_amount');
  });

  it('rejects an unknown currency', () => {
    expect(moneyErrorCode(() => formatMinorUnits(1, 'eur'))).toBe('unknown_currency');
  });
});

describe('applyBps', () => {
  it.each([
    [10_000, 250, 250], // 2.5% of 100.00 = 2.50
    [4999, 1000, 500], // 499.9 → 500
    [5, 1000, 1], // 0.5 → 1
    [-5, 1000, -1], // -0.5 → -1 (away from zero)
    [15, 1000, 2], // 1.5 → 2
    [-15, 1000, -2],
    [25, 1000, 3], // 2.5 → 3, not banker's 2
    [-25, 1000, -3],
    [14, 1000, 1], // 1.4 → 1
    [-14, 1000, -1],
    [16, 1000, 2],
    [-16, 1000, -2],
    [1, 5000, 1],
    [-1, 5000, -1],
    [1, 4999, 0],
    [3, 1, 0],
    [Number.MAX_SAFE_INTEGER, 10_000, Number.MAX_SAFE_INTEGER],
    [Number.MAX_SAFE_INTEGER, 5000, 4503599627370496], // 4503599627370495.5 → …496
    [Number.MIN_SAFE_INTEGER, 5000, -4503599627370496],
  ])('applyBps(%i, %i) = %i', (amount, rate, expected) => {
    expect(applyBps(amount, rate)).toBe(expected);
  });

  it('never returns negative zero', () => {
    expect(Object.is(applyBps(-1, 4999), 0)).toBe(true);
    expect(Object.is(applyBps(-7, 0), 0)).toBe(true);
  });

  it.each([-1, 10_001, 1.5, NaN, Infinity])('rejects bps %p', (rate) => {
    expect(moneyErrorCode(() => applyBps(100, rate))).toBe('invalid_amount');
  });

  it.each([0.5, NaN, Infinity, 2 ** 53, -(2 ** 53)])('rejects amount %p', (amount) => {
    expect(moneyErrorCode(() => applyBps(amount, 100))).toBe('invalid_amount');
  });
});

describe('assertMinorUnits', () => {
  it.each([0, 1, MAX_MINOR_UNITS])('accepts %p', (n) => {
    expect(() => assertMinorUnits(n)).not.toThrow();
  });

  it.each([-1, MAX_MINOR_UNITS + 1, 1.5, NaN, Infinity, '5', null, undefined, 5n, {}])('rejects %p', (n) => {
    expect(moneyErrorCode(() => assertMinorUnits(n))).toBe('invalid_amount');
  });
});

describe('addMinor / sumMinor', () => {
  it('adds exactly', () => {
    expect(addMinor(4999, 1)).toBe(5000);
    expect(addMinor(-5, 3)).toBe(-2);
    expect(sumMinor([])).toBe(0);
    expect(sumMinor([1, 2, 3, -1])).toBe(5);
  });

  it('only bounds the total, not the running sum', () => {
    expect(sumMinor([Number.MAX_SAFE_INTEGER, 1, -1])).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('refuses a total outside the safe integer range', () => {
    expect(moneyErrorCode(() => addMinor(Number.MAX_SAFE_INTEGER, 1))).toBe('amount_out_of_range');
    expect(moneyErrorCode(() => addMinor(Number.MIN_SAFE_INTEGER, -1))).toBe('amount_out_of_range');
    expect(moneyErrorCode(() => sumMinor([MAX_MINOR_UNITS, MAX_MINOR_UNITS, Number.MAX_SAFE_INTEGER]))).toBe('amount_out_of_range');
  });

  it('refuses non-integer inputs', () => {
    expect(moneyErrorCode(() => addMinor(1.5, 1))).toBe('invalid_amount');
    expect(moneyErrorCode(() => sumMinor([1, NaN]))).toBe('invalid_amount');
    expect(moneyErrorCode(() => sumMinor([2 ** 53, -1]))).toBe('invalid_amount');
  });
});

describe('properties', () => {
  it('parse(format(a)) === a for every currency and stored amount', () => {
    fc.assert(
      fc.property(currency, storedAmount, (code, amount) => {
        expect(parseDecimalAmount(formatMinorUnits(amount, code), code)).toBe(amount);
      }),
      { numRuns: 2000 },
    );
  });

  it('format puts exactly the currency exponent of digits after the point', () => {
    fc.assert(
      fc.property(currency, safeAmount, (code, amount) => {
        const text = formatMinorUnits(amount, code);
        const exponent = currencyExponent(code);
        expect(text).toMatch(exponent === 0 ? /^-?\d+$/ : new RegExp(`^-?\\d+\\.\\d{${exponent}}$`));
        if (amount > 0) expect(formatMinorUnits(-amount, code)).toBe(`-${text}`);
      }),
    );
  });

  it('trailing zeros past the exponent are too_many_decimals as well', () => {
    fc.assert(
      fc.property(currency, storedAmount, fc.integer({ min: 1, max: 30 }), (code, amount, zeros) => {
        const text = formatMinorUnits(amount, code);
        const padded = text.includes('.') ? text + '0'.repeat(zeros) : `${text}.${'0'.repeat(zeros)}`;
        expect(moneyErrorCode(() => parseDecimalAmount(padded, code))).toBe('too_many_decimals');
      }),
    );
  });

  it('a non-zero digit past the exponent is always too_many_decimals', () => {
    fc.assert(
      fc.property(currency, storedAmount, fc.integer({ min: 1, max: 9 }), (code, amount, digit) => {
        const text = formatMinorUnits(amount, code);
        const longer = text.includes('.') ? `${text}${digit}` : `${text}.${digit}`;
        expect(moneyErrorCode(() => parseDecimalAmount(longer, code))).toBe('too_many_decimals');
      }),
    );
  });

  it('applyBps(a, 10000) === a and applyBps(a, 0) === 0', () => {
    fc.assert(
      fc.property(safeAmount, (amount) => {
        expect(applyBps(amount, 10_000)).toBe(amount);
        expect(Object.is(applyBps(amount, 0), 0)).toBe(true);
      }),
    );
  });

  it('applyBps is monotonic in the amount', () => {
    fc.assert(
      fc.property(safeAmount, safeAmount, bps, (x, y, rate) => {
        const [low, high] = x <= y ? [x, y] : [y, x];
        expect(applyBps(low, rate)).toBeLessThanOrEqual(applyBps(high, rate));
      }),
    );
    // Neighbouring amounts, where rounding boundaries actually sit.
    fc.assert(
      fc.property(fc.integer({ min: -1_000_000, max: 1_000_000 }), bps, (amount, rate) => {
        expect(applyBps(amount, rate)).toBeLessThanOrEqual(applyBps(amount + 1, rate));
      }),
    );
  });

  it('applyBps matches the BigInt reference for non-negative amounts', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), bps, (amount, rate) => {
        expect(applyBps(amount, rate)).toBe(referenceBps(amount, rate));
      }),
      { numRuns: 2000 },
    );
  });

  it('applyBps rounds negatives as the mirror image of positives', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), bps, (amount, rate) => {
        expect(applyBps(-amount, rate)).toBe(-applyBps(amount, rate) || 0);
      }),
    );
  });

  it('applyBpsExact gives applyBps and says exactly when nothing was rounded', () => {
    fc.assert(
      fc.property(safeAmount, bps, (amount, rate) => {
        const exact = (BigInt(amount) * BigInt(rate)) % 10_000n === 0n;
        expect(applyBpsExact(amount, rate)).toEqual({ amount: applyBps(amount, rate), exact });
      }),
    );
  });
});
