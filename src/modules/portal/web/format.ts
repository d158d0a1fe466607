import { formatMinorUnits, isCurrency } from '../../../common/money';
import { describeRule, RateRule } from '../../rules';

const LOCALE = 'en-US';
const DAY = /^(\d{4})-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/;
const PERCENT = /^(\d{1,3})(?:\.(\d{1,2}))?$/;

/** The zones a person may choose, UTC first (Intl's list holds only the geographic ones). */
export const TIME_ZONES: readonly string[] = ['UTC', ...Intl.supportedValuesOf('timeZone').filter((z) => z !== 'UTC')];

const cache = new Map<string, Intl.NumberFormat | Intl.DateTimeFormat>();
function cached<T extends Intl.NumberFormat | Intl.DateTimeFormat>(key: string, make: () => T): T {
  let value = cache.get(key) as T | undefined;
  if (!value) cache.set(key, (value = make()));
  return value;
}

/**
 * Integer minor units shown in the currency: the exact decimal string from formatMinorUnits is
 * what Intl formats (Intl.NumberFormat takes decimal strings without a float in between).
 */
export function formatMoney(amount: number | null | undefined, currency: string | null | undefined): string {
  if (amount === null || amount === undefined || !currency || !isCurrency(currency)) return '—';
  const format = cached(`money:${currency}`, () => new Intl.NumberFormat(LOCALE, { style: 'currency', currency, currencyDisplay: 'narrowSymbol' }));
  return format.format(formatMinorUnits(amount, currency) as Intl.StringNumericLiteral);
}

/**
 * What a conversion earned (commission) or costs: nothing for a rejected or unattributed one,
 * whatever amount its rules had computed (a conversion in the wrong currency keeps the figure
 * it would have earned, but moves no money).
 */
export function formatEarned(amount: number | null | undefined, conversion: { status: string; currency: string | null }): string {
  if (conversion.status === 'rejected' || conversion.status === 'unattributed') return '—';
  return formatMoney(amount, conversion.currency);
}

/** A decimal string for an input field: 1050 USD → "10.50". */
export function moneyInput(amount: number | null | undefined, currency: string): string {
  return amount === null || amount === undefined ? '' : formatMinorUnits(amount, currency);
}

/** Basis points as a percent string without trailing zeros: 1250 → "12.5". */
export function bpsToPercent(bps: number): string {
  const whole = Math.trunc(bps / 100);
  const fraction = String(bps % 100)
    .padStart(2, '0')
    .replace(/0+$/, '');
  return fraction ? `${whole}.${fraction}` : String(whole);
}

/** "12.5" (percent) → 1250 basis points, exactly; null when it is not a percent from 0 to 100 with at most two decimals. */
export function parsePercent(input: string): number | null {
  const match = PERCENT.exec(input.trim().replace(/%$/, ''));
  if (!match) return null;
  const bps = Number(match[1]) * 100 + Number((match[2] ?? '').padEnd(2, '0'));
  return bps <= 10_000 ? bps : null;
}

export function formatRule(rule: RateRule | null | undefined, currency: string): string {
  if (!rule) return '—';
  return describeRule(rule, { money: (amount) => formatMoney(amount, currency), percent: (bps) => `${bpsToPercent(bps)}%` });
}

export function formatDateTime(at: Date | string | null | undefined, timeZone: string): string {
  if (!at) return '—';
  const format = cached(`dt:${timeZone}`, () => new Intl.DateTimeFormat(LOCALE, { timeZone, dateStyle: 'medium', timeStyle: 'short', hourCycle: 'h23' }));
  return format.format(new Date(at));
}

/** A period [from, to) as the days it covers in a zone: its end is exclusive, so the last day is the one before `to`. */
export function formatPeriod(from: Date | string, to: Date | string, timeZone: string): string {
  const first = dayIn(new Date(from), timeZone);
  const last = dayIn(new Date(new Date(to).getTime() - 1), timeZone);
  return first === last ? first : `${first} – ${last}`;
}

/** The calendar day of an instant in a zone, as YYYY-MM-DD. */
export function dayIn(at: Date, timeZone: string): string {
  const format = cached(`day:${timeZone}`, () => new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }));
  return format.format(at);
}

export function isDay(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  const match = DAY.exec(value);
  if (!match) return false;
  const date = new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])));
  return date.getUTCDate() === Number(match[3]);
}

/** Calendar arithmetic on YYYY-MM-DD strings (no time zone involved). */
export function addDays(day: string, days: number): string {
  const [y, m, d] = day.split('-').map(Number);
  return new Date(Date.UTC(y, m - 1, d + days)).toISOString().slice(0, 10);
}

/** Every day from `from` to `to`, both included. */
export function daysBetween(from: string, to: string): string[] {
  const days: string[] = [];
  for (let day = from; day <= to && days.length < 1000; day = addDays(day, 1)) days.push(day);
  return days;
}
