import { Get, Query, Req, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { StatsQueryDto, StatsRowView } from '../../reports/dto/reports.dto';
import { ReportsService } from '../../reports/reports.service';
import { label } from '../web/labels';
import { DisplayNames } from '../web/display-names';
import { ListFilters } from '../web/list-filters';
import { Me, PortalContext, PortalRequest } from '../web/portal-request';
import { PortalController } from '../web/portal-controller';
import { PortalViews, query as toQuery } from '../web/portal-views';
import { change, formatFigure, Group, GROUP_LABELS, groupKeyOf, groupsFor, isMoney, measurePerDay, measuresFor, previousPeriod, reportCsv, sortRows } from './report-page';

type Q = Record<string, unknown>;

/**
 * Reports for every role from the same service as GET /v1/reports/stats, scoped the same way:
 * a KPI row with the previous period beside it, a table grouped by what the person picks (sorted
 * on any column), a chart of one measure per day, and the rows as CSV. Days are the viewer's.
 */
@PortalController('portal/reports')
export class ReportsPageController {
  constructor(
    private readonly views: PortalViews,
    private readonly lists: ListFilters,
    private readonly names: DisplayNames,
    private readonly reports: ReportsService,
  ) {}

  @Get()
  async page(@Me() me: PortalContext, @Req() request: PortalRequest, @Res() reply: FastifyReply, @Query() query: Q) {
    const report = await this.read(me, query);
    const measures = measuresFor(me.role);
    const chartMeasure = measures.find((m) => m.key === query.measure) ?? measures[0];
    const before = previousPeriod(report.list.filters.from, report.list.filters.to);
    const [perDay, previous] = await Promise.all([
      this.reports.stats(me.actor, { ...report.dto, groupBy: ['day'] }),
      query.compare === '0' ? null : this.reports.stats(me.actor, { ...report.dto, ...before, groupBy: [] }),
    ]);
    const totals = report.stats.totals;
    const counts = measures.filter((m) => !isMoney(m) && m.key in totals);
    const previousByCurrency = new Map((previous?.totals.byCurrency ?? []).map((r) => [r.currency, r]));
    const kpis = {
      all: counts.map((m) => ({
        measure: m,
        value: totals[m.key as keyof typeof totals] as number | null,
        change: previous ? change(totals[m.key as keyof typeof totals] as number, previous.totals[m.key as keyof typeof totals] as number) : null,
      })),
      byCurrency: totals.byCurrency.map((row) => ({
        currency: row.currency,
        figures: measures.filter(isMoney).map((m) => ({
          measure: m,
          value: row[m.key] as number | null,
          change: previous ? change(row[m.key] as number, previousByCurrency.get(row.currency)?.[m.key] as number) : null,
        })),
      })),
    };
    return this.views.page(request, reply, me, 'reports/report', {
      title: 'Reports',
      chart: measurePerDay(report.list.filters.from, report.list.filters.to, perDay, chartMeasure),
      chartMeasure,
      kpis,
      previous: previous ? before : null,
      rows: report.rows,
      name: report.name,
      group: report.group,
      groupLabel: GROUP_LABELS[report.group],
      groups: groupsFor(me.role).map((g) => ({ value: g, label: GROUP_LABELS[g] })),
      measures,
      sort: report.sort,
      list: report.list,
      params: report.params,
      figure: formatFigure,
      csvHref: `/portal/reports/report.csv${toQuery(report.params)}`,
    });
  }

  @Get('report.csv')
  async csv(@Me() me: PortalContext, @Res() reply: FastifyReply, @Query() query: Q) {
    const report = await this.read(me, query);
    return reply
      .type('text/csv; charset=utf-8')
      .header('cache-control', 'no-store')
      .header('content-disposition', `attachment; filename="report-${report.group}-${report.list.filters.from}-${report.list.filters.to}.csv"`)
      .send(reportCsv(report.rows, report.group, measuresFor(me.role), report.name));
  }

  /** The report of the query's days (the viewer's zone), grouping and order, with a name for every row's group. */
  private async read(me: PortalContext, query: Q) {
    const list = await this.lists.read(me, query);
    const groups = groupsFor(me.role);
    const group: Group = groups.find((g) => g === query.groupBy) ?? (me.role === 'affiliate' ? 'sub1' : 'channel');
    const measures = measuresFor(me.role);
    const by = query.sort === 'group' || measures.some((m) => m.key === query.sort) ? String(query.sort) : 'group';
    const direction: 'asc' | 'desc' = query.dir === 'desc' || (query.dir === undefined && by !== 'group') ? 'desc' : 'asc';
    const dto: StatsQueryDto = { from: list.filters.from, to: list.filters.to, timezone: me.timeZone, groupBy: [group] };
    const stats = await this.reports.stats(me.actor, dto);
    const key = groupKeyOf(group) as keyof StatsRowView;
    const names =
      group === 'offer'
        ? await this.names.offers(stats.data.map((r) => r[key] as string))
        : group === 'affiliate'
          ? await this.names.principals(stats.data.map((r) => r[key] as string))
          : new Map<string, string>();
    const name = (row: StatsRowView): string => {
      const value = row[key] as string | null | undefined;
      if (value === null || value === undefined || value === '') return group === 'sub1' ? '(no sub id)' : group === 'country' ? '(unknown)' : '(none)';
      if (group === 'channel') return label(value);
      return names.get(value) ?? value;
    };
    const rows = sortRows(stats.data, by, direction, key, name);
    const params = {
      from: list.filters.from,
      to: list.filters.to,
      groupBy: group,
      sort: by,
      dir: direction,
      measure: typeof query.measure === 'string' ? query.measure : undefined,
      compare: query.compare === '0' ? '0' : undefined,
    };
    return { list, group, dto, stats, rows, name, sort: { by, direction }, params };
  }
}
