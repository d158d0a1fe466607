/**
 * `numerator / denominator` rounded half away from zero to `places` decimals, computed exactly
 * on integers and only then turned into a JSON number (the double nearest that decimal); null
 * when the denominator is 0. Money per unit (EPC, CPA, CPL) uses 2 places, rates 4.
 */
export function quotient(numerator: bigint, denominator: bigint, places: number): number | null {
  if (denominator === 0n) return null;
  const negative = numerator < 0n !== denominator < 0n;
  const n = numerator < 0n ? -numerator : numerator;
  const d = denominator < 0n ? -denominator : denominator;
  const scaled = (n * 10n ** BigInt(places) * 2n + d) / (2n * d);
  if (scaled === 0n) return 0;
  const digits = scaled.toString().padStart(places + 1, '0');
  const text = places === 0 ? digits : `${digits.slice(0, -places)}.${digits.slice(-places)}`;
  return Number(negative ? `-${text}` : text);
}

export const MONEY_PLACES = 2;
export const RATE_PLACES = 4;

/** Sums as PostgreSQL answers them (numeric, as text) to exact integers. */
export function toBigInt(value: string | number | null | undefined): bigint {
  return value === null || value === undefined ? 0n : BigInt(value);
}

/** Minor units as a JSON number; sums beyond 2^53 cannot be told apart and are refused. */
export function toSafeNumber(value: bigint): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) throw new RangeError(`sum out of range: ${value}`);
  return Number(value);
}

/** A UTC instant's local wall time and offset as ISO 8601: 2026-10-25T02:00:00+01:00. */
export function localIso(wallTime: string, offsetMinutes: number): string {
  const sign = offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(offsetMinutes);
  return `${wallTime}${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}
