import { Injectable } from '@nestjs/common';
import { AuthPrincipal } from '../../common/auth';
import { invalidField } from '../../common/errors';
import { ReadDatabase } from '../../database/read-database';
import { QualityDimension, QualityReportQueryDto, QualityRowView } from './dto/quality.dto';

/** Dimension → [name in the answer, column of the items]. */
const DIMENSIONS: Record<QualityDimension, [string, string]> = {
  affiliate: ['affiliateId', 'affiliate_id'],
  offer: ['offerId', 'offer_id'],
  sub1: ['sub1', 'sub1'],
  channel: ['channel', 'channel'],
  country: ['country', 'country'],
  day: ['day', 'day'],
};
const MAX_DAYS = 366;
const MAX_ROWS = 10_000;

/**
 * GET /v1/reports/quality: per group, the clicks and conversions of the range, the conversions held
 * for review and rejected for risk, and how many clicks and conversions carry each reason code.
 * Read from the clicks and conversions themselves (a conversion takes its click's sub id, channel
 * and country); scoped like the stats: advertisers their offers, affiliates their traffic.
 */
@Injectable()
export class QualityReportService {
  constructor(private readonly reads: ReadDatabase) {}

  async report(viewer: AuthPrincipal, query: QualityReportQueryDto): Promise<QualityRowView[]> {
    const from = new Date(`${query.from}T00:00:00Z`);
    const to = new Date(Date.parse(`${query.to}T00:00:00Z`) + 86_400_000);
    if (Number.isNaN(from.getTime()) || from.toISOString().slice(0, 10) !== query.from) throw invalidField('from', `${query.from} is not a day of the calendar`);
    if (Number.isNaN(to.getTime())) throw invalidField('to', `${query.to} is not a day of the calendar`);
    if (to <= from) throw invalidField('to', 'must not be before from');
    if ((to.getTime() - from.getTime()) / 86_400_000 > MAX_DAYS) throw invalidField('to', `a report covers at most ${MAX_DAYS} days`);

    const groupBy = [...new Set(query.groupBy ?? [])];
    const params: unknown[] = [from, to];
    const where: string[] = [];
    const filter = (column: string, value: string | undefined) => {
      if (!value) return;
      params.push(value);
      where.push(`${column} = $${params.length}`);
    };
    // Scope and filter both apply: another principal's id answers no rows, as an unknown id does.
    if (viewer.role === 'advertiser') filter('advertiser_id', viewer.id);
    if (viewer.role === 'affiliate') filter('affiliate_id', viewer.id);
    filter('offer_id', query.offerId);
    filter('affiliate_id', query.affiliateId);
    const scope = where.length ? `AND ${where.map((w) => `x.${w}`).join(' AND ')}` : '';
    const dims = groupBy.map((d) => DIMENSIONS[d][1]);
    const select = dims.map((c) => `i.${c}`).join(', ');
    const group = dims.length ? `GROUP BY ${select}` : '';
    const join = dims.length ? dims.map((c) => `g.${c} IS NOT DISTINCT FROM r.${c}`).join(' AND ') : 'true';
    params.push(MAX_ROWS + 1);
    const sql = `
      WITH items AS (
        SELECT 'click' AS kind, (x.clicked_at AT TIME ZONE 'UTC')::date::text AS day, x.affiliate_id, x.offer_id, x.sub1, x.channel, x.country, x.risk_reasons,
               NULL::text AS status, NULL::text AS hold, NULL::text AS reason
          FROM clicks x WHERE x.clicked_at >= $1 AND x.clicked_at < $2 AND x.status = 'ok' ${scope}
        UNION ALL
        SELECT 'conversion', (x.created_at AT TIME ZONE 'UTC')::date::text, x.affiliate_id, x.offer_id, k.sub1, k.channel, k.country, x.risk_reasons, x.status, x.hold, x.reason
          FROM conversions x LEFT JOIN clicks k ON k.clicked_at = x.clicked_at AND k.id = x.click_id
         WHERE x.created_at >= $1 AND x.created_at < $2 AND x.affiliate_id IS NOT NULL ${scope}),
      groups AS (
        SELECT ${select ? `${select},` : ''}
               count(*) FILTER (WHERE i.kind = 'click')::int AS clicks,
               count(*) FILTER (WHERE i.kind = 'conversion')::int AS conversions,
               count(*) FILTER (WHERE i.status = 'pending' AND i.hold = 'review')::int AS held,
               count(*) FILTER (WHERE i.status = 'rejected' AND i.reason = 'risk')::int AS rejected
          FROM items i ${group}),
      reasons AS (
        SELECT ${select ? `${select},` : ''} r.value->>'code' AS code, count(*)::int AS n
          FROM items i CROSS JOIN LATERAL jsonb_array_elements(coalesce(i.risk_reasons, '[]'::jsonb)) r
         GROUP BY ${select ? `${select}, ` : ''}r.value->>'code')
      SELECT g.*, coalesce((SELECT jsonb_object_agg(r.code, r.n ORDER BY r.code) FROM reasons r WHERE ${join}), '{}'::jsonb) AS reasons
        FROM groups g
       WHERE g.clicks + g.conversions > 0
       ORDER BY g.clicks + g.conversions DESC
       LIMIT $${params.length}`;
    const rows: Record<string, unknown>[] = await this.reads.query(sql, params);
    if (rows.length > MAX_ROWS) throw invalidField('groupBy', `more than ${MAX_ROWS} groups: narrow the range or the dimensions`);
    return rows.map((row) => ({
      ...Object.fromEntries(groupBy.map((d) => [DIMENSIONS[d][0], (row[DIMENSIONS[d][1]] as string | null) ?? null])),
      clicks: Number(row.clicks),
      conversions: Number(row.conversions),
      held: Number(row.held),
      rejected: Number(row.rejected),
      reasons: row.reasons as Record<string, number>,
    }));
  }
}
