import { Injectable } from '@nestjs/common';
import { QueryFailedError } from 'typeorm';
import { ReadDatabase } from '../../database/read-database';
import { AuthPrincipal, isStaff } from '../../common/auth';
import { invalidField } from '../../common/errors';
import { Period, StatementsService } from '../statements/statements.service';
import { Dimension, ReportPeriodDto, StatsQueryDto, StatsRowView, StatsTotalsView, StatsView } from './dto/reports.dto';
import { localIso, MONEY_PLACES, quotient, RATE_PLACES, toBigInt, toSafeNumber } from './report-math';
import { statsSql } from './report-query';
import { ReportsError } from './reports.errors';

/** Longest range a report or a rebuild covers. */
const MAX_DAYS = 366;
/** Most groups one report answers; beyond, the client narrows the range or the dimensions. */
export const MAX_ROWS = 50_000;
const DAY_MS = 86_400_000;
/**
 * Zone names with an area (Europe/Berlin) or UTC: PostgreSQL reads a bare name such as CET or
 * PST as a fixed-offset abbreviation, and `+05:30` as a POSIX zone with the sign reversed.
 */
const ZONE_NAME = /^(UTC|[A-Za-z]+(\/[A-Za-z0-9_+-]+)+)$/;

const SUM_NAMES = [
  'clicks',
  'unique_clicks',
  'blocked_clicks',
  'pending',
  'approved',
  'rejected',
  'reversed',
  'sale_amount',
  'revenue',
  'payout',
  'sale_count',
  'sale_revenue',
  'sale_payout',
  'lead_count',
  'lead_revenue',
  'lead_payout',
  'held',
  'risk_rejected',
] as const;
type Sums = Record<(typeof SUM_NAMES)[number], bigint>;

/** A dimension's name in the answer and its column in the query's rows, where they differ from the dimension's own (an hour also has hour_offset). */
const RENAMED: Partial<Record<Dimension, [name: string, column: string]>> = {
  hour: ['hour', 'hour_wall'],
  offer: ['offerId', 'offer_id'],
  affiliate: ['affiliateId', 'affiliate_id'],
  advertiser: ['advertiserId', 'advertiser_id'],
};

/**
 * GET /v1/reports/stats from the rollups (see rollup-sql.ts): one row per group and currency,
 * scoped by role. Every figure is an exact integer sum; the per-unit figures and rates are exact
 * quotients rounded once, so a row's figures are reproducible from its own counts.
 */
@Injectable()
export class ReportsService {
  constructor(
    private readonly reads: ReadDatabase,
    private readonly statements: StatementsService,
  ) {}

  async stats(viewer: AuthPrincipal, query: StatsQueryDto): Promise<StatsView> {
    const period = await this.period(query);
    const groupBy = query.groupBy ?? [];
    const { sql, params } = statsSql(
      groupBy,
      {
        ...period,
        currency: query.currency,
        offerIds: ids(query.offerId),
        // Scope and filter are both applied: another principal's id answers no rows, as an unknown id does.
        affiliateIds: ids(query.affiliateId, viewer.role === 'affiliate' ? viewer.id : undefined),
        advertiserIds: ids(query.advertiserId, viewer.role === 'advertiser' ? viewer.id : undefined),
      },
      MAX_ROWS + 1,
    );
    const rows: Record<string, string | number | null>[] = await this.reads.query(sql, params);
    if (rows.length > MAX_ROWS) throw ReportsError.tooLarge(MAX_ROWS);

    const totals = new Map<string, Sums>();
    const data = rows.map((raw) => {
      const sums = sumsOf(raw);
      const currency = String(raw.currency);
      totals.set(currency, add(totals.get(currency) ?? ZERO, sums));
      return { ...dimensionsOf(raw, groupBy), currency, ...figures(sums, viewer) } as StatsRowView;
    });
    const byCurrency = [...totals].sort(([a], [b]) => a.localeCompare(b)).map(([currency, sums]) => ({ currency, ...figures(sums, viewer) }) as StatsRowView);
    const all = [...totals.values()].reduce(add, ZERO);
    const { clicks, uniqueClicks, blockedClicks, conversions, pending, approved, rejected, reversed, held, riskRejected, conversionRate, approvalRate } = figures(all, viewer);
    const summary: StatsTotalsView = {
      clicks,
      uniqueClicks,
      blockedClicks,
      conversions,
      pending,
      approved,
      rejected,
      reversed,
      held,
      riskRejected,
      conversionRate,
      approvalRate,
      byCurrency,
    };
    return { data, totals: summary };
  }

  /** Local days [from, to] of `timezone` as instants, checked with PostgreSQL, which does the time arithmetic. */
  async period(query: ReportPeriodDto): Promise<Period> {
    for (const field of ['from', 'to'] as const) {
      const day = query[field];
      if (new Date(`${day}T00:00:00Z`).toISOString().slice(0, 10) !== day) throw invalidField(field, `${day} is not a day of the calendar`);
    }
    if (query.timezone !== undefined && !ZONE_NAME.test(query.timezone)) throw invalidField('timezone', 'must be an IANA time zone such as Europe/Berlin, or UTC');
    const days = (Date.parse(query.to) - Date.parse(query.from)) / DAY_MS + 1;
    if (days > MAX_DAYS) throw invalidField('to', `a report covers at most ${MAX_DAYS} days`);
    try {
      return await this.statements.period(query.from, query.to, query.timezone ?? 'UTC');
    } catch (error) {
      // Node knows the zone (checked first) but this PostgreSQL's zone data does not.
      if (error instanceof QueryFailedError && (error as unknown as { code?: string }).code === '22023') {
        throw invalidField('timezone', `"${query.timezone}" is not a time zone the database knows`);
      }
      throw error;
    }
  }
}

function ids(...values: (string | undefined)[]): string[] {
  return values.filter((v): v is string => !!v);
}

function sumsOf(raw: Record<string, string | number | null>): Sums {
  return Object.fromEntries(SUM_NAMES.map((name) => [name, toBigInt(raw[name])])) as Sums;
}

const ZERO = Object.fromEntries(SUM_NAMES.map((name) => [name, 0n])) as Sums;

function add(a: Sums, b: Sums): Sums {
  return Object.fromEntries(SUM_NAMES.map((name) => [name, a[name] + b[name]])) as Sums;
}

function dimensionsOf(raw: Record<string, string | number | null>, groupBy: readonly Dimension[]): Record<string, string | null> {
  return Object.fromEntries(
    groupBy.map((d) => {
      const [name, column] = RENAMED[d] ?? [d, d];
      return [name, d === 'hour' ? localIso(String(raw[column]), Number(raw.hour_offset)) : (raw[column] as string | null)];
    }),
  );
}

/**
 * The figures of a set of sums as `viewer` may see them: affiliates never see what the
 * advertiser pays (revenue, margin, ROI), and their CPA and CPL are what they earn per result;
 * advertisers never see what the affiliate earns (payout, EPC), their cost being revenue; margin
 * is for the operator's staff.
 */
function figures(s: Sums, viewer: AuthPrincipal): Omit<StatsRowView, 'currency'> {
  const affiliate = viewer.role === 'affiliate';
  const advertiser = viewer.role === 'advertiser';
  const n = toSafeNumber;
  const conversions = s.pending + s.approved + s.rejected + s.reversed;
  return {
    clicks: n(s.clicks),
    uniqueClicks: n(s.unique_clicks),
    blockedClicks: n(s.blocked_clicks),
    conversions: n(conversions),
    pending: n(s.pending),
    approved: n(s.approved),
    rejected: n(s.rejected),
    reversed: n(s.reversed),
    held: n(s.held),
    riskRejected: n(s.risk_rejected),
    saleAmount: n(s.sale_amount),
    ...(affiliate ? {} : { revenue: n(s.revenue) }),
    ...(advertiser ? {} : { payout: n(s.payout) }),
    ...(isStaff(viewer) ? { margin: n(s.revenue - s.payout) } : {}),
    conversionRate: quotient(conversions, s.clicks, RATE_PLACES),
    approvalRate: quotient(s.approved, s.approved + s.rejected + s.reversed, RATE_PLACES),
    ...(advertiser ? {} : { epc: quotient(s.payout, s.clicks, MONEY_PLACES) }),
    cpa: quotient(affiliate ? s.sale_payout : s.sale_revenue, s.sale_count, MONEY_PLACES),
    cpl: quotient(affiliate ? s.lead_payout : s.lead_revenue, s.lead_count, MONEY_PLACES),
    ...(affiliate ? {} : { roi: quotient(s.sale_amount - s.revenue, s.revenue, RATE_PLACES) }),
  };
}
