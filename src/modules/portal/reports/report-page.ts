import type { Role } from '../../principals/principal.entity';
import type { StatsRowView, StatsView } from '../../reports/dto/reports.dto';
import { currencyExponent, formatMinorUnits } from '../../../common/money';
import type { ChartData } from '../web/chart';
import { csvCell } from '../web/conversions-csv';
import { addDays, daysBetween, formatMoney } from '../web/format';

/** What a report is grouped by in the portal (the API's dimensions a person picks from). */
export const GROUPS = ['channel', 'offer', 'affiliate', 'sub1', 'country', 'day'] as const;
export type Group = (typeof GROUPS)[number];

export const GROUP_LABELS: Record<Group, string> = { channel: 'Channel', offer: 'Offer', affiliate: 'Affiliate', sub1: 'Sub id', country: 'Country', day: 'Day' };

export type Kind = 'count' | 'rate' | 'money' | 'unit';

/** A measure of a report row: its key in /v1/reports/stats, its label, how it is shown, who sees it. */
export interface Measure {
  key: keyof StatsRowView;
  label: string;
  kind: Kind;
  roles?: Role[];
}

const STAFF: Role[] = ['admin', 'finance'];

/** The measures in table order. Money per unit (EPC, CPA, CPL) comes in the API's decimals; money in minor units. */
export const MEASURES: Measure[] = [
  { key: 'clicks', label: 'Clicks', kind: 'count' },
  { key: 'uniqueClicks', label: 'Unique clicks', kind: 'count' },
  { key: 'conversions', label: 'Conversions', kind: 'count' },
  { key: 'conversionRate', label: 'CR', kind: 'rate' },
  { key: 'approved', label: 'Approved', kind: 'count' },
  { key: 'approvalRate', label: 'Approval rate', kind: 'rate' },
  { key: 'saleAmount', label: 'Sales', kind: 'money' },
  { key: 'revenue', label: 'Cost', kind: 'money', roles: ['advertiser'] },
  { key: 'revenue', label: 'Revenue', kind: 'money', roles: STAFF },
  { key: 'payout', label: 'Earnings', kind: 'money', roles: ['affiliate'] },
  { key: 'payout', label: 'Payout', kind: 'money', roles: STAFF },
  { key: 'margin', label: 'Margin', kind: 'money', roles: STAFF },
  { key: 'epc', label: 'EPC', kind: 'unit', roles: ['affiliate', ...STAFF] },
  { key: 'cpa', label: 'CPA', kind: 'unit' },
  { key: 'cpl', label: 'CPL', kind: 'unit' },
  { key: 'roi', label: 'ROI', kind: 'rate', roles: ['advertiser', ...STAFF] },
];

export function measuresFor(role: Role): Measure[] {
  return MEASURES.filter((m) => !m.roles || m.roles.includes(role));
}

/** The groups a role picks from: an affiliate's report is all their own, so not by affiliate. */
export function groupsFor(role: Role): Group[] {
  return GROUPS.filter((g) => !(role === 'affiliate' && g === 'affiliate'));
}

/** Counts and their rates add up over currencies; money (and ROI, a ratio of money) does not, so those KPIs are one per currency. */
export const isMoney = (m: Measure) => m.kind === 'money' || m.kind === 'unit' || m.key === 'roi';

/** A figure as shown: counts with separators, rates as percents to 2 decimals, money in its currency. */
export function formatFigure(value: number | null | undefined, kind: Kind, currency: string): string {
  if (value === null || value === undefined) return '—';
  switch (kind) {
    case 'count':
      return value.toLocaleString('en-US');
    case 'rate':
      return `${(value * 100).toFixed(2)}%`;
    case 'money':
      return formatMoney(value, currency);
    case 'unit': {
      // Per click or per result, in minor units with 2 decimals (the API's): shown in the currency, to a hundredth of its minor unit at most.
      const digits = currencyExponent(currency);
      return new Intl.NumberFormat('en-US', {
        style: 'currency',
        currency,
        currencyDisplay: 'narrowSymbol',
        minimumFractionDigits: digits,
        maximumFractionDigits: digits + 2,
      }).format(value / 10 ** digits);
    }
  }
}

/** The period as long as [from, to] that ends the day before it starts. */
export function previousPeriod(from: string, to: string): { from: string; to: string } {
  const days = daysBetween(from, to).length;
  return { from: addDays(from, -days), to: addDays(from, -1) };
}

/** Change from `before` to `now` as a fraction; null when there is nothing to compare with. */
export function change(now: number | null | undefined, before: number | null | undefined): number | null {
  if (now === null || now === undefined || before === null || before === undefined || before === 0) return null;
  return (now - before) / Math.abs(before);
}

/** Sorts rows by a measure or the group, nulls last; ties by the group then the currency, so the order is stable. */
export function sortRows(rows: StatsRowView[], by: string, direction: 'asc' | 'desc', groupKey: string, name: (row: StatsRowView) => string): StatsRowView[] {
  const sign = direction === 'asc' ? 1 : -1;
  const value = (row: StatsRowView): string | number | null => (by === 'group' ? name(row) : ((row[by as keyof StatsRowView] as number | null | undefined) ?? null));
  return [...rows].sort((a, b) => {
    const x = value(a);
    const y = value(b);
    if (x !== y) {
      if (x === null) return 1;
      if (y === null) return -1;
      return (typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y))) * sign;
    }
    return (
      name(a).localeCompare(name(b)) || a.currency.localeCompare(b.currency) || String(a[groupKey as keyof StatsRowView]).localeCompare(String(b[groupKey as keyof StatsRowView]))
    );
  });
}

/**
 * The chart of one measure per day from a report grouped by day: money (and money per unit) is
 * one series per currency, each on its own axis; counts and rates one series, all currencies
 * together (rates recomputed from the day's counts, never averaged).
 */
export function measurePerDay(from: string, to: string, stats: StatsView, measure: Measure): ChartData {
  const days = daysBetween(from, to);
  if (isMoney(measure)) {
    const currencies = [...new Set(stats.data.map((r) => r.currency))].sort();
    return {
      days,
      series: currencies.map((currency) => {
        const byDay = new Map(stats.data.filter((r) => r.currency === currency).map((r) => [r.day, r[measure.key] as number | null]));
        return {
          label: `${measure.label} (${measure.kind === 'rate' ? `${currency}, %` : currency})`,
          ...(measure.kind === 'rate' ? { scale: `${currency} %` } : { currency }),
          values: days.map((day) => {
            const v = byDay.get(day) ?? (measure.kind === 'money' ? 0 : null);
            if (v === null || v === undefined) return null;
            if (measure.kind === 'money') return formatMinorUnits(v, currency);
            return measure.kind === 'rate' ? (v * 100).toFixed(2) : perUnit(v, currency);
          }),
        };
      }),
    };
  }
  const sums = new Map<string, Record<string, number>>();
  for (const r of stats.data) {
    const day = sums.get(r.day as string) ?? {};
    for (const key of ['clicks', 'uniqueClicks', 'conversions', 'approved', 'rejected', 'reversed'] as const) day[key] = (day[key] ?? 0) + (r[key] ?? 0);
    sums.set(r.day as string, day);
  }
  const value = (s: Record<string, number> | undefined): number | null => {
    if (measure.kind === 'count') return s?.[measure.key] ?? 0;
    if (!s) return null;
    if (measure.key === 'conversionRate') return s.clicks ? s.conversions / s.clicks : null;
    if (measure.key === 'approvalRate') {
      const decided = s.approved + s.rejected + s.reversed;
      return decided ? s.approved / decided : null;
    }
    return null;
  };
  return {
    days,
    series: [
      {
        label: measure.kind === 'rate' ? `${measure.label} (%)` : measure.label,
        scale: 'n',
        values: days.map((day) => {
          const v = value(sums.get(day));
          return v === null ? null : measure.kind === 'rate' ? (v * 100).toFixed(2) : String(v);
        }),
      },
    ],
  };
}

/** Money per click or per result (minor units with 2 decimals) as a decimal in the currency: 2538.75 USD cents → "25.3875". */
export function perUnit(value: number, currency: string): string {
  const digits = currencyExponent(currency);
  return (value / 10 ** digits).toFixed(digits + 2);
}

/** The report's rows as CSV: the group's name, its id where it has one, the currency, then the role's measures as the API answers them (money as decimals). */
export function reportCsv(rows: StatsRowView[], group: Group, measures: Measure[], name: (row: StatsRowView) => string): string {
  const groupKey = groupKeyOf(group);
  const header = [GROUP_LABELS[group], ...(group === 'offer' || group === 'affiliate' ? [`${group}_id`] : []), 'currency', ...measures.map((m) => m.key)];
  const lines = rows.map((row) => [
    name(row),
    ...(group === 'offer' || group === 'affiliate' ? [row[groupKey as keyof StatsRowView]] : []),
    row.currency,
    ...measures.map((m) => {
      const v = row[m.key] as number | null | undefined;
      if (v === null || v === undefined) return v;
      return m.kind === 'money' ? formatMinorUnits(v, row.currency) : m.kind === 'unit' ? perUnit(v, row.currency) : v;
    }),
  ]);
  return [header, ...lines].map((line) => line.map(csvCell).join(',')).join('\r\n') + '\r\n';
}

/** The key a group's value has in a report row. */
export function groupKeyOf(group: Group): string {
  return group === 'offer' ? 'offerId' : group === 'affiliate' ? 'affiliateId' : group;
}
