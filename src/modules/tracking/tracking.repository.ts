import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { EntityManager, EntityTarget, In } from 'typeorm';
import type { AuthPrincipal } from '../../common/auth';
import { Page, paginate, PageQueryDto } from '../../common/pagination';
import type { PrincipalStatus } from '../principals/principal.entity';
import type { OfferStatus } from '../offers/offer.entity';
import type { Risk, RiskReason } from '../../common/risk/risk';
import type { ClickRecord } from './click-buffer';
import { Click } from './click.entity';
import { Coupon, CouponStatus } from './coupon.entity';
import { CLICK_ROLLUPS_FROM_FACTS, clickRollupFacts, withClickRollups } from './rollup-sql';
import { scopedQuery } from './scope';
import { Channel, SubValues, TrackingLink } from './tracking-link.entity';
import type { ClickListRow } from './tracking.views';

/** A link joined with what its redirect needs of its offer and its affiliate. */
export interface ResolvedLinkRow extends SubValues {
  id: string;
  code: string;
  affiliate_id: string;
  offer_id: string;
  advertiser_id: string;
  channel: Channel;
  archived: boolean;
  offer_status: OfferStatus;
  landing_url: string;
  fallback_url: string | null;
  attribution_window_days: number;
  affiliate_status: PrincipalStatus;
}

/** The filters and page of a clicks listing; `before` is the keyset position (clicked_at in microseconds since the epoch, and the id). */
export interface ClickListing {
  filters: Filters;
  from?: string;
  to?: string;
  before?: { us: string; id: string };
  limit: number;
  /** Admins read the full IP; everyone else its network. */
  fullIp: boolean;
}

const RESOLVE_SQL = (by: 'code' | 'id') => `
  SELECT l.id, l.code, l.affiliate_id, l.offer_id, l.advertiser_id, l.channel, l.sub1, l.sub2, l.sub3, l.sub4, l.sub5,
         l.archived_at IS NOT NULL AS archived, o.status AS offer_status, o.landing_url, o.fallback_url,
         o.attribution_window_days, p.status AS affiliate_status
    FROM tracking_links l
    JOIN offers o ON o.id = l.offer_id
    JOIN principals p ON p.id = l.affiliate_id
   WHERE l.${by} = $1`;

/** Admins read the full IP; everyone else its network (/24 for IPv4, /48 for IPv6). */
const FULL_IP = 'host(c.ip)';
const NETWORK_IP = 'host(network(set_masklen(c.ip, CASE WHEN family(c.ip) = 4 THEN 24 ELSE 48 END)))';

/** Column order of the click INSERT; each becomes one array parameter of unnest(). */
const CLICK_COLUMNS: [column: string, type: string, value: (c: ClickRecord) => unknown][] = [
  ['id', 'text', (c) => c.id],
  ['clicked_at', 'timestamptz', (c) => c.clickedAt.toISOString()],
  ['link_id', 'uuid', (c) => c.linkId],
  ['offer_id', 'uuid', (c) => c.offerId],
  ['affiliate_id', 'uuid', (c) => c.affiliateId],
  ['advertiser_id', 'uuid', (c) => c.advertiserId],
  ['channel', 'text', (c) => c.channel],
  ['sub1', 'text', (c) => c.sub1],
  ['sub2', 'text', (c) => c.sub2],
  ['sub3', 'text', (c) => c.sub3],
  ['sub4', 'text', (c) => c.sub4],
  ['sub5', 'text', (c) => c.sub5],
  ['ip', 'inet', (c) => c.ip],
  ['user_agent', 'text', (c) => c.userAgent],
  ['referrer', 'text', (c) => c.referrer],
  ['is_unique', 'bool', (c) => c.isUnique ?? true],
  ['status', 'text', (c) => c.status],
  ['country', 'text', (c) => c.country ?? null],
  ['risk_score', 'int2', (c) => c.risk?.score ?? null],
];
// ON CONFLICT: a batch whose commit succeeded but whose answer was lost is retried harmlessly.
// The same statement adds the rows it inserted to the report rollups.
// The risk reasons travel as one JSON array for the batch (null for a clean click): one
// JSON.stringify per batch, none of pg's per-element array escaping.
const CLICK_NAMES = CLICK_COLUMNS.map(([name]) => name);
const INSERT_CLICKS_SQL = withClickRollups(`INSERT INTO clicks (${CLICK_NAMES.join(', ')}, risk_reasons)
  SELECT ${CLICK_NAMES.map((name) => `u.${name}`).join(', ')}, nullif(r.value, 'null'::jsonb)
    FROM unnest(${CLICK_COLUMNS.map(([, type], i) => `$${i + 1}::${type}[]`).join(', ')}) WITH ORDINALITY AS u (${CLICK_NAMES.join(', ')}, n)
    JOIN jsonb_array_elements($${CLICK_COLUMNS.length + 1}::jsonb) WITH ORDINALITY AS r (value, n) ON r.n = u.n
  ON CONFLICT DO NOTHING`);

/** The same columns for COPY … FROM STDIN (text format): one line per click. */
const COPY_CLICKS_SQL = `COPY clicks (${CLICK_NAMES.join(', ')}, risk_reasons) FROM STDIN`;
const NEEDS_COPY_ESCAPE = /[\\\t\n\r]/;
const COPY_ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/** A value as COPY's text format reads it: \N for null, backslash, tab and line breaks escaped. */
function copyField(value: unknown): string {
  if (value === null || value === undefined) return '\\N';
  if (typeof value === 'boolean') return value ? 't' : 'f';
  const text = String(value);
  return NEEDS_COPY_ESCAPE.test(text) ? text.replace(/[\\\t\n\r]/g, (ch) => COPY_ESCAPES[ch]) : text;
}

function copyLine(click: ClickRecord): string {
  let line = '';
  for (const [, , value] of CLICK_COLUMNS) line += copyField(value(click)) + '\t';
  return line + copyField(click.risk?.reasons.length ? JSON.stringify(click.risk.reasons) : null) + '\n';
}

type Filters = Record<string, string | undefined>;

/** A page of links or coupons `actor` may see (newest first), filtered by column. */
function listScoped<E extends TrackingLink | Coupon>(
  manager: EntityManager,
  entity: EntityTarget<E>,
  actor: AuthPrincipal,
  filters: Filters,
  page: PageQueryDto,
): Promise<Page<E>> {
  return paginate(scopedQuery(manager.getRepository(entity).createQueryBuilder('t'), 't', actor, filters), 't', page);
}

/** The link or coupon with this id if `actor` may see it, else null. */
function findScoped<E extends TrackingLink | Coupon>(manager: EntityManager, entity: EntityTarget<E>, actor: AuthPrincipal, id: string): Promise<E | null> {
  return scopedQuery(manager.getRepository(entity).createQueryBuilder('t').where('t.id = :id', { id }), 't', actor).getOne();
}

/**
 * Queries on tracking's tables: `tracking_links`, `clicks` (and its daily partitions, the
 * default one included) and `coupons` (the tracking aggregate owns them: see ARCHITECTURE.md).
 * Stateless, like ConversionsRepository: each method runs on the manager it is given, so it
 * joins the caller's transaction. The report rollups a click write adds to live in
 * `rollup-sql.ts` (a read model of clicks and conversions).
 */
/** The /24 (IPv4) or /48 (IPv6) network of `ip`. */
export const CUT_IP = (ip: string) => `network(set_masklen(${ip}, CASE WHEN family(${ip}) = 4 THEN 24 ELSE 48 END))`;
/** Whether a click row still holds a full IP or a user agent. */
export const HOLDS_PERSONAL_DATA = (k: string) =>
  `(${k}.user_agent IS NOT NULL OR (${k}.ip IS NOT NULL AND masklen(${k}.ip) = CASE WHEN family(${k}.ip) = 4 THEN 32 ELSE 128 END))`;

/** The clicks of the last hour in an IP or sub-id flood not marked yet (the quality job). */
const FLOODED_CLICKS_SQL = `
  WITH recent AS (
    SELECT clicked_at, id, affiliate_id, ip, link_id, sub1, risk_reasons FROM clicks WHERE clicked_at > now() - interval '1 hour'),
  ip_floods AS (
    SELECT affiliate_id, ip, count(*)::int AS n FROM recent WHERE ip IS NOT NULL GROUP BY affiliate_id, ip HAVING count(*) > $1),
  sub_floods AS (
    SELECT link_id, sub1, count(*)::int AS n FROM recent WHERE sub1 IS NOT NULL GROUP BY link_id, sub1 HAVING count(*) > $2)
  SELECT r.clicked_at, r.id, r.risk_reasons, r.sub1, f.n AS ip_clicks, s.n AS sub_clicks
    FROM recent r
    LEFT JOIN ip_floods f ON f.affiliate_id = r.affiliate_id AND f.ip = r.ip AND NOT coalesce(r.risk_reasons @> '[{"code": "ip_flood"}]', false)
    LEFT JOIN sub_floods s ON s.link_id = r.link_id AND s.sub1 = r.sub1 AND NOT coalesce(r.risk_reasons @> '[{"code": "sub_flood"}]', false)
   WHERE f.n IS NOT NULL OR s.n IS NOT NULL
   LIMIT $3`;

const SET_CLICK_RISKS_SQL = `
  UPDATE clicks c SET risk_score = u.score, risk_reasons = u.reasons
    FROM unnest($1::timestamptz[], $2::text[], $3::int2[], $4::jsonb[]) AS u (clicked_at, id, score, reasons)
   WHERE c.clicked_at = u.clicked_at AND c.id = u.id`;

export class TrackingRepository {
  // Links

  insertLink(manager: EntityManager, fields: Partial<TrackingLink>): Promise<TrackingLink> {
    const repository = manager.getRepository(TrackingLink);
    return repository.save(repository.create(fields));
  }

  listLinks(manager: EntityManager, actor: AuthPrincipal, filters: Filters, page: PageQueryDto): Promise<Page<TrackingLink>> {
    return listScoped(manager, TrackingLink, actor, filters, page);
  }

  /** A link `actor` may see, or null. */
  findLink(manager: EntityManager, actor: AuthPrincipal, id: string): Promise<TrackingLink | null> {
    return findScoped(manager, TrackingLink, actor, id);
  }

  async archiveLink(manager: EntityManager, id: string, at: Date): Promise<void> {
    await manager.getRepository(TrackingLink).update({ id }, { archivedAt: at });
  }

  /** The link by code or id with its offer's URLs and status and its affiliate's status; null if none. */
  async resolveLink(manager: EntityManager, by: 'code' | 'id', value: string): Promise<ResolvedLinkRow | null> {
    const [row]: ResolvedLinkRow[] = await manager.query(RESOLVE_SQL(by), [value]);
    return row ?? null;
  }

  // Clicks

  /** The stored click with this id and time (the time picks its partition). */
  findClick(manager: EntityManager, id: string, clickedAt: Date): Promise<Click | null> {
    return manager.getRepository(Click).findOneBy({ clickedAt, id });
  }

  /** Newest first on (clicked_at, id), scoped to what `actor` may see; `limit + 1` rows, so the caller knows whether a page follows. */
  listClicks(manager: EntityManager, actor: AuthPrincipal, listing: ClickListing): Promise<(ClickListRow & { cursor_us: string })[]> {
    const qb = manager
      .createQueryBuilder()
      .select(['c.id AS id', 'c.clicked_at AS clicked_at', 'c.link_id AS link_id', 'c.offer_id AS offer_id', 'c.affiliate_id AS affiliate_id'])
      .addSelect(['c.channel AS channel', 'c.sub1 AS sub1', 'c.sub2 AS sub2', 'c.sub3 AS sub3', 'c.sub4 AS sub4', 'c.sub5 AS sub5'])
      .addSelect(['c.user_agent AS user_agent', 'c.referrer AS referrer', 'c.is_unique AS is_unique', 'c.status AS status'])
      .addSelect(['c.risk_score AS risk_score', 'c.risk_reasons AS risk_reasons'])
      .addSelect(listing.fullIp ? FULL_IP : NETWORK_IP, 'ip')
      .addSelect(`(extract(epoch FROM c.clicked_at) * 1000000)::bigint::text`, 'cursor_us')
      .from('clicks', 'c');
    scopedQuery(qb, 'c', actor, listing.filters);
    if (listing.from) qb.andWhere('c.clicked_at >= :from', { from: listing.from });
    if (listing.to) qb.andWhere('c.clicked_at < :to', { to: listing.to });
    if (listing.before) {
      const { us, id } = listing.before;
      qb.andWhere(`(c.clicked_at, c.id) < (to_timestamp(0) + :us::bigint * interval '1 microsecond', :cursorId)`, { us, cursorId: id });
    }
    return qb
      .orderBy('c.clicked_at', 'DESC')
      .addOrderBy('c.id', 'DESC')
      .limit(listing.limit + 1)
      .getRawMany<ClickListRow & { cursor_us: string }>();
  }

  /** Writes a batch of clicks (and their report rollups) in one statement; a click already stored is skipped. */
  async insertClicks(manager: EntityManager, batch: ClickRecord[]): Promise<void> {
    const reasons = JSON.stringify(batch.map((c) => (c.risk?.reasons.length ? c.risk.reasons : null)));
    await manager.query(INSERT_CLICKS_SQL, [...CLICK_COLUMNS.map(([, , value]) => batch.map(value)), reasons]);
  }

  /**
   * Writes a batch of new clicks with COPY and adds them to the report rollups (summed in the
   * process), in the transaction of `manager`: about half PostgreSQL's work per click of
   * `insertClicks` (bench/README.md). COPY has no ON CONFLICT: a batch written before (a commit
   * whose answer was lost, then retried) fails with a unique violation and is written again with
   * `insertClicks`, which skips what exists and counts nothing twice.
   */
  async copyClicks(manager: EntityManager, batch: ClickRecord[]): Promise<void> {
    const client = (manager.queryRunner as unknown as { databaseConnection: PoolClient } | undefined)?.databaseConnection;
    if (!client || !manager.queryRunner?.isTransactionActive) throw new Error('copyClicks runs in a transaction');
    let text = '';
    for (const click of batch) text += copyLine(click);
    await pipeline(Readable.from([text]), client.query(copyFrom(COPY_CLICKS_SQL)));
    await manager.query(CLICK_ROLLUPS_FROM_FACTS, clickRollupFacts(batch));
  }

  /** Serialises partition maintenance across processes, until the transaction ends. */
  async lockClickPartitions(manager: EntityManager): Promise<void> {
    await manager.query(`SELECT pg_advisory_xact_lock(hashtext('afx:click-partitions'))`);
  }

  /** The names of the partitions attached to `clicks` (the default one included). */
  async clickPartitions(manager: EntityManager): Promise<string[]> {
    const rows: { name: string }[] = await manager.query(
      `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'clicks'::regclass`,
    );
    return rows.map((r) => r.name);
  }

  /** Creates partition `name` for [from, to), moving the clicks the default partition holds for that range into it. */
  async createClickPartition(manager: EntityManager, name: string, from: string, to: string): Promise<void> {
    await manager.query(`CREATE TABLE ${name} (LIKE clicks INCLUDING DEFAULTS INCLUDING CONSTRAINTS)`);
    await manager.query(`WITH moved AS (DELETE FROM clicks_default WHERE clicked_at >= $1 AND clicked_at < $2 RETURNING *) INSERT INTO ${name} SELECT * FROM moved`, [from, to]);
    await manager.query(`ALTER TABLE clicks ATTACH PARTITION ${name} FOR VALUES FROM ('${from}') TO ('${to}')`);
  }

  // Coupons

  insertCoupon(manager: EntityManager, fields: Partial<Coupon>): Promise<Coupon> {
    const repository = manager.getRepository(Coupon);
    return repository.save(repository.create(fields));
  }

  listCoupons(manager: EntityManager, actor: AuthPrincipal, filters: Filters, page: PageQueryDto): Promise<Page<Coupon>> {
    return listScoped(manager, Coupon, actor, filters, page);
  }

  /** A coupon `actor` may see, or null. */
  findCoupon(manager: EntityManager, actor: AuthPrincipal, id: string): Promise<Coupon | null> {
    return findScoped(manager, Coupon, actor, id);
  }

  /** The active coupon with this code (any case) of this advertiser. */
  findActiveCoupon(manager: EntityManager, advertiserId: string, code: string): Promise<Coupon | null> {
    return manager
      .getRepository(Coupon)
      .createQueryBuilder('k')
      .where(`k.advertiser_id = :advertiserId AND lower(k.code) = lower(:code) AND k.status <> 'rejected' AND k.status = 'active'`, { advertiserId, code })
      .getOne();
  }

  /** Moves the coupon to `to` if it is in one of `from`; answers whether it moved. */
  async moveCoupon(manager: EntityManager, id: string, from: CouponStatus[], to: CouponStatus, decidedBy: string): Promise<boolean> {
    const result = await manager.getRepository(Coupon).update({ id, status: In(from) }, { status: to, decidedBy, decidedAt: new Date() });
    return Boolean(result.affected);
  }

  // -- retention ---------------------------------------------------------------

  /** Deletes up to `size` clicks older than `cutoff` from the default partition; answers how many. */
  async deleteOldDefaultClicks(manager: EntityManager, cutoff: Date, size: number): Promise<number> {
    const [{ n }]: { n: number }[] = await manager.query(
      `WITH gone AS (DELETE FROM clicks_default WHERE (clicked_at, id) IN (SELECT clicked_at, id FROM clicks_default WHERE clicked_at < $1 LIMIT $2) RETURNING 1)
       SELECT count(*)::int AS n FROM gone`,
      [cutoff.toISOString(), size],
    );
    return n;
  }

  /** Cuts the IPs and clears the user agents of up to `size` default-partition clicks older than `cutoff`; answers how many. */
  async cutPersonalDataOfDefaultClicks(manager: EntityManager, cutoff: Date, size: number): Promise<number> {
    const [{ n }]: { n: number }[] = await manager.query(
      `WITH cut AS (
         UPDATE clicks_default k SET ip = ${CUT_IP('k.ip')}, user_agent = NULL
         WHERE (k.clicked_at, k.id) IN (SELECT d.clicked_at, d.id FROM clicks_default d WHERE d.clicked_at < $1 AND ${HOLDS_PERSONAL_DATA('d')} LIMIT $2)
         RETURNING 1)
       SELECT count(*)::int AS n FROM cut`,
      [cutoff.toISOString(), size],
    );
    return n;
  }

  // -- traffic quality ---------------------------------------------------------

  /** Up to `max` clicks of the last hour beyond the hourly IP (per affiliate) or sub-id (per link) limits that do not carry that flood yet. */
  floodedClicks(
    manager: EntityManager,
    ipClicksPerHour: number,
    subClicksPerHour: number,
    max: number,
  ): Promise<{ clicked_at: Date; id: string; risk_reasons: RiskReason[] | null; sub1: string | null; ip_clicks: number | null; sub_clicks: number | null }[]> {
    return manager.query(FLOODED_CLICKS_SQL, [ipClicksPerHour, subClicksPerHour, max]);
  }

  /** Writes each click's new risk (score and reasons), in one statement. */
  async setClickRisks(manager: EntityManager, clicks: { clicked_at: Date; id: string }[], risks: Risk[]): Promise<void> {
    await manager.query(SET_CLICK_RISKS_SQL, [clicks.map((r) => r.clicked_at), clicks.map((r) => r.id), risks.map((r) => r.score), risks.map((r) => JSON.stringify(r.reasons))]);
  }
}

export const trackingRepository = new TrackingRepository();
