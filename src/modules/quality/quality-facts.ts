import { EntityManager } from 'typeorm';
import { preparedQuery } from '../../database/sql';
import type { QualityPolicy, RiskReason } from '../../common/risk/risk';

/**
 * What the conversion signals read, gathered across the tables of tracking, conversions, accounts
 * and the portal: a read model (it writes nothing). One statement per call: for one conversion at
 * intake, for a batch in the quality job.
 */

/** The facts at intake: the click as stored (it may still be in a click buffer), the customer, the affiliate's own addresses. */
export interface IntakeFacts {
  click: { score: number | null; reasons: RiskReason[] | null; country: string | null } | null;
  otherAffiliates: number;
  emailMatch: boolean;
  ipMatch: boolean;
}

export interface IntakeQuery {
  clickId: string | null;
  clickedAt: Date | null;
  advertiserId: string;
  affiliateId: string;
  customerId: string | null;
  /** The customer's IP where we have it (the pixel); a postback's IP is the advertiser's server. */
  customerIp: string | null;
}

const ACCEPTED = `('pending', 'approved', 'paid')`;

/** The affiliate's e-mails (principal and portal users), to compare with a customer id as given or as its SHA-256. */
const OWN_EMAIL = (affiliate: string, customer: string) => `(
  ${customer}::text IS NOT NULL AND EXISTS (
    SELECT 1 FROM (
      SELECT p.email FROM principals p WHERE p.id = ${affiliate}
      UNION ALL SELECT u.email FROM portal_users u WHERE u.principal_id = ${affiliate}) e
     WHERE lower(trim(e.email)) = lower(trim(${customer}))
        OR encode(sha256(convert_to(lower(trim(e.email)), 'UTF8')), 'hex') = lower(trim(${customer}))))`;

/** An address the affiliate's portal users signed in from in the last 90 days. */
const OWN_IP = (affiliate: string, ips: string) => `EXISTS (
    SELECT 1 FROM portal_sessions s JOIN portal_users u ON u.id = s.user_id
     WHERE u.principal_id = ${affiliate} AND s.created_at > now() - interval '90 days' AND s.ip = ANY (${ips}))`;

/** Other affiliates of the advertiser the customer converted for (accepted conversions). */
const OTHER_AFFILIATES = (advertiser: string, customer: string, affiliate: string, except: string) => `(
  SELECT count(DISTINCT o.affiliate_id)::int FROM conversions o
   WHERE ${customer}::text IS NOT NULL AND o.advertiser_id = ${advertiser} AND o.customer_id = ${customer}
     AND o.affiliate_id <> ${affiliate} AND o.status IN ${ACCEPTED} AND o.id IS DISTINCT FROM ${except})`;

const INTAKE_SQL = `
  WITH k AS (SELECT risk_score, risk_reasons, country, ip FROM clicks WHERE clicked_at = $2::timestamptz AND id = $1::text)
  SELECT (SELECT json_build_object('score', k.risk_score, 'reasons', k.risk_reasons, 'country', k.country) FROM k) AS click,
         ${OTHER_AFFILIATES('$3::uuid', '$5::text', '$4::uuid', 'NULL::uuid')} AS "otherAffiliates",
         ${OWN_EMAIL('$4::uuid', '$5::text')} AS "emailMatch",
         ${OWN_IP('$4::uuid', `array_remove(ARRAY[(SELECT ip FROM k), $6::inet], NULL)`)} AS "ipMatch"`;

/** The same facts for many conversions at once, in the order asked: each one's click looked up on its own (the partitions pruned per row). */
const INTAKE_MANY_SQL = `
  SELECT CASE WHEN k.found THEN json_build_object('score', k.risk_score, 'reasons', k.risk_reasons, 'country', k.country) END AS click,
         ${OTHER_AFFILIATES('q.advertiser_id', 'q.customer_id', 'q.affiliate_id', 'NULL::uuid')} AS "otherAffiliates",
         ${OWN_EMAIL('q.affiliate_id', 'q.customer_id')} AS "emailMatch",
         ${OWN_IP('q.affiliate_id', 'array_remove(ARRAY[k.ip, q.customer_ip], NULL)')} AS "ipMatch"
    FROM unnest($1::text[], $2::timestamptz[], $3::uuid[], $4::uuid[], $5::text[], $6::inet[]) WITH ORDINALITY
         AS q (click_id, clicked_at, advertiser_id, affiliate_id, customer_id, customer_ip, n)
    LEFT JOIN LATERAL (
      SELECT true AS found, risk_score, risk_reasons, country, ip FROM clicks WHERE clicked_at = q.clicked_at AND id = q.click_id LIMIT 1) k ON true
   ORDER BY q.n`;

/** A named prepared statement: planned once per connection, as the conversion's own write is (the postback path). */
export async function intakeFacts(manager: EntityManager, q: IntakeQuery): Promise<IntakeFacts> {
  const [row] = await preparedQuery<IntakeFacts>(manager, 'quality.intake', INTAKE_SQL, [q.clickId, q.clickedAt, q.advertiserId, q.affiliateId, q.customerId, q.customerIp]);
  return row;
}

/** `intakeFacts` of each query, in one statement (concurrent postbacks read together). */
export async function intakeFactsMany(manager: EntityManager, qs: IntakeQuery[]): Promise<IntakeFacts[]> {
  if (qs.length === 1) return [await intakeFacts(manager, qs[0])];
  const column = <K extends keyof IntakeQuery>(key: K) => qs.map((q) => q[key]);
  return preparedQuery<IntakeFacts>(manager, 'quality.intake.many', INTAKE_MANY_SQL, [
    column('clickId'),
    column('clickedAt'),
    column('advertiserId'),
    column('affiliateId'),
    column('customerId'),
    column('customerIp'),
  ]);
}

/**
 * The facts of one conversion for the quality job: its own reasons from intake, its click's reasons
 * as they are now (floods marked since), its sub id (whose rates are read apart) and its coupon's uses.
 */
export interface CheckFacts {
  id: string;
  status: string;
  hold: string | null;
  offerId: string | null;
  affiliateId: string | null;
  ownReasons: RiskReason[] | null;
  click: { score: number | null; reasons: RiskReason[] | null; country: string | null } | null;
  sub1: string | null;
  coupon: { code: string; uses: number; withoutClick: number } | null;
  quality: QualityPolicy | null;
}

/** Sub-id rates and coupon uses are counted over this many days. */
export const RATE_WINDOW_DAYS = 30;

const CHECK_SQL = `
  WITH c AS (
    SELECT id, status, hold, affiliate_id, offer_id, click_id, clicked_at, coupon_id, coupon_code, risk_reasons
      FROM conversions WHERE id = ANY ($1::uuid[])),
  k AS (
    SELECT c.id AS conversion_id, x.risk_score, x.risk_reasons, x.country, x.sub1
      FROM c JOIN clicks x ON x.clicked_at = c.clicked_at AND x.id = c.click_id),
  coupon_uses AS (
    SELECT u.coupon_id, count(*)::int AS uses, count(*) FILTER (WHERE y.click_id IS NULL)::int AS without_click
      FROM (SELECT DISTINCT coupon_id FROM c WHERE coupon_id IS NOT NULL) u
      JOIN conversions y ON y.coupon_id = u.coupon_id AND y.status IN ${ACCEPTED} AND y.created_at > now() - make_interval(days => $2)
     GROUP BY u.coupon_id)
  SELECT c.id, c.status, c.hold, c.offer_id AS "offerId", c.affiliate_id AS "affiliateId", k.sub1, c.risk_reasons AS "ownReasons",
         CASE WHEN k.conversion_id IS NOT NULL THEN json_build_object('score', k.risk_score, 'reasons', k.risk_reasons, 'country', k.country) END AS click,
         CASE WHEN cu.coupon_id IS NOT NULL THEN json_build_object('code', c.coupon_code, 'uses', cu.uses, 'withoutClick', cu.without_click) END AS coupon,
         (SELECT o.quality FROM offers o WHERE o.id = c.offer_id) AS quality
    FROM c
    LEFT JOIN k ON k.conversion_id = c.id
    LEFT JOIN coupon_uses cu ON cu.coupon_id = c.coupon_id`;

/**
 * Clicks and accepted conversions per sub id of each (offer, affiliate) pair over the rate window,
 * for the sub ids asked (one pass over each pair's clicks and conversions), and the offers' totals.
 */
const SUB_RATES_SQL = `
  WITH wanted AS (SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[]) AS w (offer_id, affiliate_id, sub1)),
  pairs AS (SELECT DISTINCT offer_id, affiliate_id FROM wanted),
  clicks_per_sub AS (
    SELECT x.offer_id, x.affiliate_id, x.sub1, count(*)::int AS n
      FROM pairs p JOIN clicks x ON x.offer_id = p.offer_id AND x.affiliate_id = p.affiliate_id AND x.clicked_at > now() - make_interval(days => $4)
     WHERE x.sub1 IS NOT NULL GROUP BY 1, 2, 3),
  conversions_per_sub AS (
    SELECT y.offer_id, y.affiliate_id, x.sub1, count(*)::int AS n
      FROM pairs p
      JOIN conversions y ON y.offer_id = p.offer_id AND y.affiliate_id = p.affiliate_id AND y.status IN ${ACCEPTED} AND y.created_at > now() - make_interval(days => $4)
      JOIN clicks x ON x.clicked_at = y.clicked_at AND x.id = y.click_id
     WHERE x.sub1 IS NOT NULL GROUP BY 1, 2, 3),
  offers AS (
    SELECT o.offer_id,
           (SELECT count(*)::int FROM clicks x WHERE x.offer_id = o.offer_id AND x.clicked_at > now() - make_interval(days => $4)) AS clicks,
           (SELECT count(*)::int FROM conversions y
             WHERE y.offer_id = o.offer_id AND y.status IN ${ACCEPTED} AND y.click_id IS NOT NULL AND y.created_at > now() - make_interval(days => $4)) AS conversions
      FROM (SELECT DISTINCT offer_id FROM wanted) o)
  SELECT w.offer_id AS "offerId", w.affiliate_id AS "affiliateId", w.sub1,
         coalesce(cl.n, 0) AS "subClicks", coalesce(cv.n, 0) AS "subConversions", o.clicks AS "offerClicks", o.conversions AS "offerConversions"
    FROM wanted w
    JOIN offers o ON o.offer_id = w.offer_id
    LEFT JOIN clicks_per_sub cl ON cl.offer_id = w.offer_id AND cl.affiliate_id = w.affiliate_id AND cl.sub1 = w.sub1
    LEFT JOIN conversions_per_sub cv ON cv.offer_id = w.offer_id AND cv.affiliate_id = w.affiliate_id AND cv.sub1 = w.sub1`;

export interface SubRate {
  offerId: string;
  affiliateId: string;
  sub1: string;
  subClicks: number;
  subConversions: number;
  offerClicks: number;
  offerConversions: number;
}

/** The rates of these sub ids (each of an offer and affiliate) over the rate window. */
export async function subRates(manager: EntityManager, wanted: { offerId: string; affiliateId: string; sub1: string }[]): Promise<SubRate[]> {
  if (wanted.length === 0) return [];
  return manager.query(SUB_RATES_SQL, [wanted.map((w) => w.offerId), wanted.map((w) => w.affiliateId), wanted.map((w) => w.sub1), RATE_WINDOW_DAYS]);
}

export async function checkFacts(manager: EntityManager, ids: string[]): Promise<CheckFacts[]> {
  if (ids.length === 0) return [];
  return manager.query(CHECK_SQL, [ids, RATE_WINDOW_DAYS]);
}

/** Conversions the quality job has not checked yet, oldest first. */
export async function uncheckedConversions(manager: EntityManager, limit: number): Promise<string[]> {
  const rows: { id: string }[] = await manager.query(`SELECT id FROM conversions WHERE risk_checked_at IS NULL ORDER BY created_at, id LIMIT $1`, [limit]);
  return rows.map((r) => r.id);
}
