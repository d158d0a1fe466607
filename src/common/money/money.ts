import { currencyExponent } from './currencies';

export type MoneyErrorCode = 'unknown_currency' | 'invalid_amount' | 'too_many_decimals' | 'amount_out_of_range';

export class MoneyError extends Error {
  override readonly name = 'MoneyError';

  constructor(
    public readonly code: MoneyErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** Largest amount, in minor units, the system stores (15 nines, far below 2^53). */
export const MAX_MINOR_UNITS = 999_999_999_999_999;

const MAX_MINOR_BIG = BigInt(MAX_MINOR_UNITS);
const BPS_DENOMINATOR = 10_000n;

// Digits on both sides of an optional dot; ASCII digits only (no `u` flag, so \d is [0-9]).
const DECIMAL_AMOUNT = /^(\d{1,18})(?:\.(\d+))?$/;

/**
 * Parses a plain decimal string ("49.99") into integer minor units of `currency`. More
 * fractional digits than the currency has are refused, zeros too ("10.500" EUR): an amount
 * written with more precision than the currency carries is a client bug to surface, not to round.
 */
export function parseDecimalAmount(input: string, currency: string): number {
  const exponent = currencyExponent(currency);
  const match = typeof input === 'string' ? DECIMAL_AMOUNT.exec(input) : null;
  if (!match) {
    throw new MoneyError('invalid_amount', `not a plain non-negative decimal amount: ${JSON.stringify(input)}`);
  }
  const [, whole, fraction = ''] = match;
  if (fraction.length > exponent) {
    throw new MoneyError('too_many_decimals', `${currency} allows at most ${exponent} decimal place${exponent === 1 ? '' : 's'}: ${input}`);
  }
  const minor = BigInt(whole + fraction.slice(0, exponent).padEnd(exponent, '0'));
  if (minor > MAX_MINOR_BIG) {
    throw new MoneyError('amount_out_of_range', `amount exceeds the maximum of ${MAX_MINOR_UNITS} minor units: ${input}`);
  }
  return Number(minor);
}

/** Formats integer minor units as a decimal string with exactly the currency's decimals. */
export function formatMinorUnits(amount: number, currency: string): string {
  const exponent = currencyExponent(currency);
  assertSafeInteger(amount);
  const sign = amount < 0 ? '-' : '';
  const digits = String(Math.abs(amount)).padStart(exponent + 1, '0');
  if (exponent === 0) return sign + digits;
  const split = digits.length - exponent;
  return `${sign}${digits.slice(0, split)}.${digits.slice(split)}`;
}

/** `amount × bps / 10000`, rounded half away from zero. */
export function applyBps(amount: number, bps: number): number {
  return applyBpsExact(amount, bps).amount;
}

/** `amount × bps / 10000` rounded as applyBps, and whether it was exact (nothing to round). */
export function applyBpsExact(amount: number, bps: number): { amount: number; exact: boolean } {
  assertSafeInteger(amount);
  if (!Number.isInteger(bps) || bps < 0 || bps > 10_000) {
    throw new MoneyError('invalid_amount', `basis points must be an integer from 0 to 10000: ${bps}`);
  }
  const product = BigInt(Math.abs(amount)) * BigInt(bps);
  const magnitude = (product + BPS_DENOMINATOR / 2n) / BPS_DENOMINATOR;
  // Number(-0n) is 0, so a negative amount that rounds to zero never yields -0.
  const result = Number(amount < 0 ? -magnitude : magnitude);
  return { amount: result, exact: product % BPS_DENOMINATOR === 0n };
}

/** A stored amount: a safe, non-negative integer no larger than MAX_MINOR_UNITS. */
export function assertMinorUnits(n: unknown): asserts n is number {
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0 || n > MAX_MINOR_UNITS) {
    throw new MoneyError('invalid_amount', `not a valid amount in minor units: ${String(n)}`);
  }
}

export function addMinor(a: number, b: number): number {
  return sumMinor([a, b]);
}

/** Exact sum of safe integers; only the total must stay within the safe-integer range. */
export function sumMinor(values: readonly number[]): number {
  let total = 0n;
  for (const value of values) {
    assertSafeInteger(value);
    total += BigInt(value);
  }
  if (total > BigInt(Number.MAX_SAFE_INTEGER) || total < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new MoneyError('amount_out_of_range', `sum ${total} is outside the safe integer range`);
  }
  return Number(total);
}

function assertSafeInteger(n: number): void {
  if (!Number.isSafeInteger(n)) {
    throw new MoneyError('invalid_amount', `not a safe integer amount: ${String(n)}`);
  }
}
