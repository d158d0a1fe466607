import { EntityManager } from 'typeorm';
import { FLOOD_LIMITS, FloodLimits, ipFlood, subFlood } from '../../common/risk/click-signals';
import { riskOf, RiskReason } from '../../common/risk/risk';

/** Most clicks one run re-scores; the rest wait for the next run. */
const MAX_FLAGGED = 20_000;

const FLOODED_SQL = `
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

const UPDATE_SQL = `
  UPDATE clicks c SET risk_score = u.score, risk_reasons = u.reasons
    FROM unnest($1::timestamptz[], $2::text[], $3::int2[], $4::jsonb[]) AS u (clicked_at, id, score, reasons)
   WHERE c.clicked_at = u.clicked_at AND c.id = u.id`;

/**
 * Floods that build up over many click batches (README, "Traffic quality"): the clicks of the last
 * hour from an IP (per affiliate) or on a sub id (per link) beyond the hourly limit get `ip_flood`
 * or `sub_flood` and their score raised. Run by the quality job, off the click path; answers how
 * many clicks it marked.
 */
export async function markClickFloods(manager: EntityManager, limits: FloodLimits = FLOOD_LIMITS): Promise<number> {
  const rows: { clicked_at: Date; id: string; risk_reasons: RiskReason[] | null; sub1: string | null; ip_clicks: number | null; sub_clicks: number | null }[] = await manager.query(
    FLOODED_SQL,
    [limits.ipClicksPerHour, limits.subClicksPerHour, MAX_FLAGGED],
  );
  if (rows.length === 0) return 0;
  const risks = rows.map((r) =>
    riskOf(r.risk_reasons, [r.ip_clicks !== null ? ipFlood(r.ip_clicks, limits) : null, r.sub_clicks !== null ? subFlood(r.sub1 ?? '', r.sub_clicks, limits) : null]),
  );
  await manager.query(UPDATE_SQL, [rows.map((r) => r.clicked_at), rows.map((r) => r.id), risks.map((r) => r.score), risks.map((r) => JSON.stringify(r.reasons))]);
  return rows.length;
}
