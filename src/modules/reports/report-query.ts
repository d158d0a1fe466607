import { SUB_IDS } from '../tracking/tracking-link.entity';
import type { Dimension } from './dto/reports.dto';
import { CLICK_COUNTERS, CONVERSION_COUNTERS, DELTAS_TABLE, ROLLUPS } from '../tracking/rollup-sql';

export interface StatsFilters {
  /** [from, to) as instants; rollup hours are whole UTC hours, so an hour belongs to the day it starts in. */
  from: Date;
  to: Date;
  timezone: string;
  currency?: string;
  offerIds?: string[];
  affiliateIds?: string[];
  advertiserIds?: string[];
}

type Source = 'clicks' | 'conversions' | 'quality';

/**
 * A dimension: the value it groups by in a rollup row `x` (joined to its offer `o`), and what
 * the report answers from that value `g`.
 */
interface DimensionSql {
  value: (source: Source) => string;
  answer: (g: string) => string;
}

const as = (name: string) => (g: string) => `${g} AS ${name}`;
const column = (name: string, answer = as(name)): DimensionSql => ({ value: () => `x.${name}`, answer });
// '' (none) becomes NULL, so it sorts last, as a click's missing goal does.
const optional = (name: string): DimensionSql => ({ value: () => `nullif(x.${name}, '')`, answer: as(name) });

function dimensionSql(dimension: Dimension, timezone: () => string): DimensionSql {
  switch (dimension) {
    case 'hour': {
      const zone = timezone();
      return column(
        'hour',
        (g) => `to_char(${g} AT TIME ZONE ${zone}, 'YYYY-MM-DD"T"HH24:MI:SS') AS hour_wall,
        (extract(epoch FROM (${g} AT TIME ZONE ${zone}) - (${g} AT TIME ZONE 'UTC')) / 60)::int AS hour_offset`,
      );
    }
    case 'day': {
      const zone = timezone();
      return { value: () => `(x.hour AT TIME ZONE ${zone})::date`, answer: (g) => `${g}::text AS day` };
    }
    case 'offer':
      return column('offer_id');
    case 'affiliate':
      return column('affiliate_id');
    case 'advertiser':
      return { value: () => 'o.advertiser_id', answer: as('advertiser_id') };
    case 'goal':
      return { value: (source) => (source === 'clicks' ? 'NULL::text' : 'x.goal'), answer: as('goal') };
    default:
      return optional(dimension);
  }
}

/** Reading sub ids or country takes the wide `*_details` rollups; everything else the small ones. */
export const needsDetail = (groupBy: readonly Dimension[]) => groupBy.some((d) => d === 'country' || (SUB_IDS as readonly string[]).includes(d));

/**
 * Traffic quality's counters (README, "Traffic quality"): conversions held for review and those
 * rejected for their risk score. Read from the conversions themselves, only those (a partial
 * index), shaped as rollup rows with the report keys their conversion was stored with.
 */
const QUALITY_COUNTERS = ['held', 'risk_rejected'] as const;
const QUALITY_ROWS = `(
  SELECT date_trunc('hour', c.created_at, 'UTC') AS hour, c.offer_id, c.affiliate_id, k.channel, c.goal_key AS goal, c.currency::text AS currency,
         k.country, ${SUB_IDS.map((s) => `k.${s}`).join(', ')},
         (c.status = 'pending' AND c.hold = 'review')::int AS held, (c.status = 'rejected' AND c.reason = 'risk')::int AS risk_rejected
    FROM conversions c JOIN report_conversion_keys k ON k.conversion_id = c.id
   WHERE ((c.status = 'pending' AND c.hold = 'review') OR (c.status = 'rejected' AND c.reason = 'risk'))
     AND c.created_at >= $1 AND c.created_at < $2 AND c.offer_id IS NOT NULL AND c.affiliate_id IS NOT NULL AND c.currency IS NOT NULL)`;

/** Every sum a row answers, by source; the goal-filtered ones feed CPA (sale) and CPL (lead). */
const GOAL_SUMS = ['sale', 'lead'].flatMap((goal) =>
  Object.entries({ count: 'x.pending + x.approved', revenue: 'x.revenue', payout: 'x.payout' }).map(([name, value]) => ({
    name: `${goal}_${name}`,
    clicks: '0',
    conversions: `sum(${value}) FILTER (WHERE x.goal = '${goal}')`,
  })),
);
const SUMS: { name: string; clicks: string; conversions: string; quality?: string }[] = [
  ...CLICK_COUNTERS.map((name) => ({ name, clicks: `sum(x.${name})`, conversions: '0' })),
  ...CONVERSION_COUNTERS.map((name) => ({ name, clicks: '0', conversions: `sum(x.${name})` })),
  ...GOAL_SUMS,
  ...QUALITY_COUNTERS.map((name) => ({ name, clicks: '0', conversions: '0', quality: `sum(x.${name})` })),
];

/**
 * GET /v1/reports/stats as one statement. Each source (the click rollup, the conversion rollup,
 * the conversion deltas not yet folded in) is grouped on its own, so only a few rows per group
 * meet in the final grouping by the dimensions and the currency. Clicks take their offer's
 * currency and have no goal.
 */
export function statsSql(groupBy: readonly Dimension[], filters: StatsFilters, limit: number): { sql: string; params: unknown[] } {
  const params: unknown[] = [filters.from, filters.to];
  const param = (value: unknown) => `$${params.push(value)}`;
  // Only where an hour or a day is asked for: an unused parameter has no type PostgreSQL can infer.
  let zone: string | undefined;
  const timezone = () => (zone ??= `${param(filters.timezone)}::text`);
  const dims = groupBy.map((d) => dimensionSql(d, timezone));
  const groups = dims.map((_, i) => `g${i}`);

  const conditions = ['x.hour >= $1', 'x.hour < $2'];
  for (const id of filters.offerIds ?? []) conditions.push(`x.offer_id = ${param(id)}`);
  for (const id of filters.affiliateIds ?? []) conditions.push(`x.affiliate_id = ${param(id)}`);
  for (const id of filters.advertiserIds ?? []) conditions.push(`o.advertiser_id = ${param(id)}`);
  const currency = filters.currency ? param(filters.currency) : null;

  const branch = (source: Source, table: string) => {
    const currencyOf = source === 'clicks' ? 'o.currency::text' : 'x.currency';
    const where = [...conditions, ...(currency ? [`${currencyOf} = ${currency}`] : [])];
    const values = [...dims.map((d, i) => `${d.value(source)} AS ${groups[i]}`), `${currencyOf} AS currency`];
    return `SELECT ${[...values, ...SUMS.map((s) => `${source === 'quality' ? (s.quality ?? '0') : s[source]} AS ${s.name}`)].join(', ')}
       FROM ${table} x JOIN offers o ON o.id = x.offer_id
      WHERE ${where.join(' AND ')}
      GROUP BY ${values.map((_, i) => i + 1).join(', ')}`;
  };
  const detail = needsDetail(groupBy);
  const keys = [...groups.map((g) => `r.${g}`), 'r.currency'].join(', ');
  const sql = `
    SELECT ${[...dims.map((d, i) => d.answer(`r.${groups[i]}`)), 'r.currency', ...SUMS.map((s) => `sum(r.${s.name}) AS ${s.name}`)].join(',\n      ')}
      FROM (${branch('clicks', detail ? ROLLUPS.clickDetails.table : ROLLUPS.clickHours.table)}
            UNION ALL
            ${branch('conversions', detail ? ROLLUPS.conversionDetails.table : ROLLUPS.conversionHours.table)}
            UNION ALL
            ${branch('conversions', DELTAS_TABLE)}
            UNION ALL
            ${branch('quality', QUALITY_ROWS)}) r
     GROUP BY ${keys}
     ORDER BY ${keys}
     LIMIT ${limit}`;
  return { sql, params };
}
