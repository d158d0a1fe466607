import { formatMinorUnits } from '../../../common/money';
import type { DayTotals } from '../../conversions/conversions.service';
import { daysBetween } from './format';

export interface ChartSeries {
  label: string;
  currency?: string;
  /** The axis of a series that is not money: 'n' for counts, or a name of its own. */
  scale?: string;
  /** Decimal strings (money) or whole numbers as strings, one per day. */
  values: (string | null)[];
}

export interface ChartData {
  days: string[];
  series: ChartSeries[];
}

/** One money series per currency from per-day totals, zero on the days without any. */
export function moneyPerDay(from: string, to: string, totals: DayTotals[], pick: (t: DayTotals) => number, label = (currency: string) => currency): ChartData {
  const days = daysBetween(from, to);
  const currencies = [...new Set(totals.map((t) => t.currency))].sort();
  return {
    days,
    series: currencies.map((currency) => {
      const byDay = new Map(totals.filter((t) => t.currency === currency).map((t) => [t.day, pick(t)]));
      return { label: label(currency), currency, values: days.map((day) => formatMinorUnits(byDay.get(day) ?? 0, currency)) };
    }),
  };
}

/** A count per day (all currencies together), on its own scale beside money. */
export function countPerDay(days: string[], totals: DayTotals[], pick: (t: DayTotals) => number, label: string): ChartSeries {
  const byDay = new Map<string, number>();
  for (const t of totals) byDay.set(t.day, (byDay.get(t.day) ?? 0) + pick(t));
  return { label, scale: 'n', values: days.map((day) => String(byDay.get(day) ?? 0)) };
}
