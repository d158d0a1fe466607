import { SUB_IDS } from './tracking-link.entity';

/**
 * The SQL that keeps the report rollups (tables in migrations/1764000000600-Reports.ts). Every
 * writer goes through `upsert`: the click flush, the delta compactor and the rebuild, so an
 * incremental rollup and a rebuilt one cannot disagree on what a group or a counter is.
 */

export interface Rollup {
  table: string;
  /** Group columns; a `*_details` table also has `subs_key`, derived from sub1…sub5. */
  keys: readonly string[];
  counters: readonly string[];
}

const BASE_KEYS = ['hour', 'offer_id', 'affiliate_id', 'channel'] as const;
export const DETAIL_KEYS = ['country', ...SUB_IDS] as const;
const CONVERSION_KEYS = [...BASE_KEYS, 'goal', 'currency'] as const;

export const CLICK_COUNTERS = ['clicks', 'unique_clicks', 'blocked_clicks'] as const;
export const CONVERSION_COUNTERS = ['pending', 'approved', 'rejected', 'reversed', 'sale_amount', 'revenue', 'payout'] as const;

export const ROLLUPS = {
  clickHours: { table: 'report_click_hours', keys: BASE_KEYS, counters: CLICK_COUNTERS },
  clickDetails: { table: 'report_click_details', keys: [...BASE_KEYS, ...DETAIL_KEYS], counters: CLICK_COUNTERS },
  conversionHours: { table: 'report_conversion_hours', keys: CONVERSION_KEYS, counters: CONVERSION_COUNTERS },
  conversionDetails: { table: 'report_conversion_details', keys: [...CONVERSION_KEYS, ...DETAIL_KEYS], counters: CONVERSION_COUNTERS },
} satisfies Record<string, Rollup>;

export const DELTAS_TABLE = 'report_conversion_deltas';
export const KEYS_TABLE = 'report_conversion_keys';
/**
 * Every table a rebuild rewrites, in the order each writer's statement takes them (click flush:
 * click tables; new conversion: keys, deltas; compactor: deltas, conversion tables), so that the
 * rebuild's lock on all of them cannot deadlock with any writer.
 */
export const ROLLUP_TABLES = [ROLLUPS.clickHours.table, ROLLUPS.clickDetails.table, KEYS_TABLE, DELTAS_TABLE, ROLLUPS.conversionHours.table, ROLLUPS.conversionDetails.table];

const isDetail = (rollup: Rollup) => rollup.keys.includes('sub1');

/** A digest of the five sub ids, length-prefixed so that no two different tuples share an input. */
const SUBS_KEY = `encode(substring(sha256(convert_to(concat(${SUB_IDS.map((s) => `length(${s}), ':', ${s}`).join(', ')}), 'UTF8')) FROM 1 FOR 16), 'hex')::uuid`;

/**
 * Adds the rows of `source` (a relation with the rollup's keys and counters) into the rollup.
 * Groups are sorted so that concurrent writers lock rollup rows in the same order (no deadlock).
 * `fresh`: the caller emptied these groups and holds the tables locked, so a plain INSERT does.
 */
export function upsert(rollup: Rollup, source: string, { fresh = false } = {}): string {
  const keys = rollup.keys.join(', ');
  const detail = isDetail(rollup);
  const conflict = detail ? [...rollup.keys.filter((k) => !(SUB_IDS as readonly string[]).includes(k)), 'subs_key'] : rollup.keys;
  const insert = `INSERT INTO ${rollup.table} AS r (${keys}${detail ? ', subs_key' : ''}, ${rollup.counters.join(', ')})
    SELECT ${keys}${detail ? `, ${SUBS_KEY}` : ''}, ${rollup.counters.map((c) => `sum(${c})`).join(', ')}
      FROM ${source} AS s GROUP BY ${keys}`;
  if (fresh) return insert;
  return `${insert} ORDER BY ${keys}
    ON CONFLICT (${conflict.join(', ')}) DO UPDATE SET ${rollup.counters.map((c) => `${c} = r.${c} + EXCLUDED.${c}`).join(', ')}`;
}

const hourOf = (column: string) => `date_trunc('hour', ${column}, 'UTC')`;
const orEmpty = (alias: string, columns: readonly string[]) => columns.map((c) => `coalesce(${alias}.${c}, '') AS ${c}`).join(', ');

/**
 * Clicks as rollup facts: one row per click of `alias` (which has the columns of `clicks`). A click
 * that was not allowed (paused offer, archived link, suspended affiliate) counts in blocked_clicks
 * only, never in clicks or unique_clicks (nor, through them, in EPC or conversion rate).
 */
export function clickFacts(alias: string): string {
  const allowed = `${alias}.status = 'ok'`;
  return `${hourOf(`${alias}.clicked_at`)} AS hour, ${alias}.offer_id, ${alias}.affiliate_id, ${alias}.channel, ${orEmpty(alias, DETAIL_KEYS)},
    (${allowed})::int AS clicks, (${alias}.is_unique AND ${allowed})::int AS unique_clicks, (NOT ${allowed})::int AS blocked_clicks`;
}

/**
 * The statement that writes a batch of clicks: `insertClicks` (an INSERT … ON CONFLICT DO NOTHING
 * into clicks) and, in the same statement, the rows it really inserted into both click rollups.
 * A retried batch whose first commit succeeded inserts nothing and so counts nothing twice.
 */
export function withClickRollups(insertClicks: string): string {
  const returned = ['clicked_at', 'offer_id', 'affiliate_id', 'channel', ...DETAIL_KEYS, 'is_unique', 'status'].join(', ');
  const facts = `(SELECT ${clickFacts('i')} FROM inserted i)`;
  return `WITH inserted AS (${insertClicks} RETURNING ${returned}),
    hours AS (${upsert(ROLLUPS.clickHours, facts)})
    ${upsert(ROLLUPS.clickDetails, facts)}`;
}

/** What `clickFacts` reads of a click, as the click buffer holds it. */
export interface ClickFactInput {
  clickedAt: Date;
  offerId: string;
  affiliateId: string;
  channel: string;
  country?: string | null;
  sub1: string | null;
  sub2: string | null;
  sub3: string | null;
  sub4: string | null;
  sub5: string | null;
  isUnique?: boolean;
  status: string;
}

const HOUR_MS = 3_600_000;
const FACT_COLUMNS = [...BASE_KEYS, ...DETAIL_KEYS, ...CLICK_COUNTERS] as const;
const FACT_TYPES: Record<(typeof FACT_COLUMNS)[number], string> = {
  hour: 'timestamptz',
  offer_id: 'uuid',
  affiliate_id: 'uuid',
  channel: 'text',
  country: 'text',
  sub1: 'text',
  sub2: 'text',
  sub3: 'text',
  sub4: 'text',
  sub5: 'text',
  clicks: 'int',
  unique_clicks: 'int',
  blocked_clicks: 'int',
};

/**
 * `clickFacts` of a batch computed in the process, already summed per group: one array per
 * column (FACT_COLUMNS), for `CLICK_ROLLUPS_FROM_FACTS`. Mirrors `clickFacts` exactly (the hour in
 * UTC, missing details as '', blocked clicks counted apart); the property test in
 * test/e2e/tracking-click-writes.e2e-spec.ts holds the two equal.
 */
export function clickRollupFacts(clicks: readonly ClickFactInput[]): unknown[][] {
  const groups = new Map<string, (string | number)[]>();
  for (const c of clicks) {
    const hour = new Date(Math.floor(c.clickedAt.getTime() / HOUR_MS) * HOUR_MS).toISOString();
    const key = [hour, c.offerId, c.affiliateId, c.channel, c.country ?? '', c.sub1 ?? '', c.sub2 ?? '', c.sub3 ?? '', c.sub4 ?? '', c.sub5 ?? ''];
    const id = key.join('\u0000');
    let group = groups.get(id);
    if (!group) groups.set(id, (group = [...key, 0, 0, 0]));
    // The counters follow the keys, in CLICK_COUNTERS order.
    const [clicks, unique, blocked] = [key.length, key.length + 1, key.length + 2];
    const allowed = c.status === 'ok';
    if (allowed) (group[clicks] as number)++;
    if (allowed && (c.isUnique ?? true)) (group[unique] as number)++;
    if (!allowed) (group[blocked] as number)++;
  }
  const rows = [...groups.values()];
  return FACT_COLUMNS.map((_, i) => rows.map((row) => row[i]));
}

/** Adds summed click facts (`clickRollupFacts`, one array parameter per column) to both click rollups, in the click flush's table order. */
export const CLICK_ROLLUPS_FROM_FACTS = `WITH facts AS (
    SELECT * FROM unnest(${FACT_COLUMNS.map((c, i) => `$${i + 1}::${FACT_TYPES[c]}[]`).join(', ')}) AS f (${FACT_COLUMNS.join(', ')})),
  hours AS (${upsert(ROLLUPS.clickHours, 'facts')})
  ${upsert(ROLLUPS.clickDetails, 'facts')}`;

const ACCEPTED = `('pending', 'approved', 'paid')`;

/** What a conversion in `status` adds to the counters; `paid` counts as approved, so payouts move nothing. */
function contribution(status: string, c: string): Record<(typeof CONVERSION_COUNTERS)[number], string> {
  const money = (column: string) => `CASE WHEN ${status} IN ${ACCEPTED} THEN coalesce(${c}.${column}, 0) ELSE 0 END`;
  return {
    pending: `(${status} = 'pending')::int`,
    approved: `(${status} IN ('approved', 'paid'))::int`,
    rejected: `(${status} = 'rejected')::int`,
    reversed: `(${status} = 'reversed')::int`,
    sale_amount: money('sale_amount'),
    revenue: money('revenue'),
    payout: money('payout'),
  };
}

/**
 * Conversions `c` joined to their keys `k` as rollup facts. With `before`, the facts are the
 * change from that status to the current one (a delta); without, the whole conversion.
 */
export function conversionFacts(before?: string): string {
  const now = contribution('c.status', 'c');
  const then = before ? contribution(before, 'c') : null;
  const counters = CONVERSION_COUNTERS.map((name) => `${then ? `${now[name]} - (${then[name]})` : now[name]} AS ${name}`);
  return `${hourOf('c.created_at')} AS hour, c.offer_id, c.affiliate_id, k.channel, c.goal_key AS goal, c.currency,
    ${DETAIL_KEYS.map((d) => `k.${d}`).join(', ')}, ${counters.join(', ')}`;
}

const DELTA_COLUMNS = [...ROLLUPS.conversionDetails.keys, ...CONVERSION_COUNTERS].join(', ');

/** Appends the facts of the conversions selected by `fromWhere` (`FROM conversions c JOIN keys k …`). */
export function insertDeltas(facts: string, fromWhere: string): string {
  return `INSERT INTO ${DELTAS_TABLE} (${DELTA_COLUMNS}) SELECT ${facts} ${fromWhere}`;
}

/** Conversions that reports count: attributed to an offer and an affiliate. */
export const REPORTED_CONVERSION = `c.offer_id IS NOT NULL AND c.affiliate_id IS NOT NULL AND c.currency IS NOT NULL AND c.status <> 'unattributed'`;

/**
 * The click-derived key of conversions `c`: channel, country and sub ids of their click where it
 * is stored, else the link's channel; '' where there is neither (coupon conversions).
 */
export function conversionKeys(clickJoin: string, conversions = 'conversions', { lateral = false } = {}): string {
  // Lateral (one click looked up per conversion, by its primary key): the plan prunes the clicks
  // partitions per row while it runs, where a join of many conversions would scan them all.
  const click = lateral ? `LEFT JOIN LATERAL (SELECT * FROM clicks k WHERE ${clickJoin} LIMIT 1) k ON true` : `LEFT JOIN clicks k ON ${clickJoin}`;
  return `SELECT c.id, coalesce(k.channel, l.channel, '') AS channel, ${orEmpty('k', DETAIL_KEYS)}
      FROM ${conversions} c
      ${click}
      LEFT JOIN tracking_links l ON l.id = c.link_id`;
}

const KEY_COLUMNS = ['conversion_id', 'channel', ...DETAIL_KEYS].join(', ');

/**
 * The statement that writes a conversion: `insertConversion` (an INSERT … ON CONFLICT DO NOTHING
 * into conversions, without RETURNING), the `alongside` CTEs (`name AS (…)`, which read the row it
 * inserted as `inserted`), and in the same statement the conversion's report key and delta.
 * Answers the `answer` columns of the inserted row, or no row when it conflicted, and then nothing
 * else is written either.
 * `click` holds the SQL of the conversion's clicked_at and click id: parameters, so the plan reads
 * only its day's partition; or, for a statement writing several conversions, `c.clicked_at` and
 * `c.click_id` with `lateral`, each conversion's click then looked up on its own.
 */
export function withConversionRollups(insertConversion: string, click: { at: string; id: string; lateral?: boolean }, alongside: string[] = [], answer = '*'): string {
  return `WITH inserted AS (${insertConversion} RETURNING *),
    ${alongside.map((cte) => `${cte},`).join('\n    ')}
    conversion_keys AS (
      INSERT INTO ${KEYS_TABLE} (${KEY_COLUMNS})
      ${conversionKeys(`k.clicked_at = ${click.at} AND k.id = ${click.id}`, 'inserted', { lateral: click.lateral })}
       WHERE ${REPORTED_CONVERSION}
      RETURNING *),
    conversion_deltas AS (${insertDeltas(conversionFacts(), 'FROM inserted c JOIN conversion_keys k ON k.conversion_id = c.id')})
  SELECT ${answer} FROM inserted`;
}

/** A status change of conversion $1 from status $2 to its current one. */
export const CONVERSION_CHANGED = insertDeltas(conversionFacts('$2::text'), `FROM conversions c JOIN ${KEYS_TABLE} k ON k.conversion_id = c.id WHERE c.id = $1`);

/** Folds up to $1 of the oldest deltas into both conversion rollups, atomically; answers how many. */
export const COMPACT_DELTAS = `WITH moved AS (
    DELETE FROM ${DELTAS_TABLE} WHERE id IN (SELECT id FROM ${DELTAS_TABLE} ORDER BY id LIMIT $1) RETURNING *),
  hours AS (${upsert(ROLLUPS.conversionHours, 'moved')}),
  details AS (${upsert(ROLLUPS.conversionDetails, 'moved')})
  SELECT count(*)::int AS moved FROM moved`;

const inRange = (column: string) => `${column} >= $1 AND ${column} < $2`;
/** A rollup's rows in [$1, $2), which hold every key and counter of the smaller rollup made from them. */
const rowsOf = (rollup: Rollup) => `(SELECT * FROM ${rollup.table} WHERE ${inRange('hour')})`;

/**
 * Recomputes every rollup for hours in [$1, $2) from clicks and conversions; run under
 * REBUILD_LOCK, so the emptied groups are filled by plain INSERTs. Each kind's wide rollup is built
 * from the raw rows, its small one from the wide one (far fewer rows than the raw ones).
 */
export const REBUILD: string[] = [
  ...[...Object.values(ROLLUPS), { table: DELTAS_TABLE }].map(({ table }) => `DELETE FROM ${table} WHERE ${inRange('hour')}`),
  upsert(ROLLUPS.clickDetails, `(SELECT ${clickFacts('k')} FROM clicks k WHERE ${inRange('k.clicked_at')})`, { fresh: true }),
  upsert(ROLLUPS.clickHours, rowsOf(ROLLUPS.clickDetails), { fresh: true }),
  `INSERT INTO ${KEYS_TABLE} (${KEY_COLUMNS})
   ${conversionKeys('k.clicked_at = c.clicked_at AND k.id = c.click_id')}
    WHERE ${inRange('c.created_at')} AND ${REPORTED_CONVERSION}
   ON CONFLICT (conversion_id) DO UPDATE SET ${['channel', ...DETAIL_KEYS].map((c) => `${c} = EXCLUDED.${c}`).join(', ')}`,
  upsert(
    ROLLUPS.conversionDetails,
    `(SELECT ${conversionFacts()} FROM conversions c JOIN ${KEYS_TABLE} k ON k.conversion_id = c.id WHERE ${inRange('c.created_at')} AND ${REPORTED_CONVERSION})`,
    { fresh: true },
  ),
  upsert(ROLLUPS.conversionHours, rowsOf(ROLLUPS.conversionDetails), { fresh: true }),
];

/** Holds off every rollup writer (click flushes, conversions, the compactor) while a range is rebuilt. */
export const REBUILD_LOCK = `LOCK TABLE ${ROLLUP_TABLES.join(', ')} IN SHARE ROW EXCLUSIVE MODE`;
