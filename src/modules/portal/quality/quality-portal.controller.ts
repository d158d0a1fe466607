import { Body, Get, Param, Post, Query, Req, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { AppError } from '../../../common/errors';
import { ParseIdPipe } from '../../../common/http/parse-id.pipe';
import { RISK_CODES, RISK_WEIGHTS, RiskCode } from '../../../common/risk/risk';
import { UUID_PATTERN } from '../../../common/validation/validators';
import { Conversion } from '../../conversions/conversion.entity';
import { ConversionsService } from '../../conversions/conversions.service';
import { APPEAL_MESSAGE_MAX, QUALITY_DIMENSIONS, QualityDimension } from '../../quality/dto/quality.dto';
import { AppealsService } from '../../quality/appeals.service';
import { QualityReportService } from '../../quality/quality-report';
import { ChartData } from '../web/chart';
import { daysBetween } from '../web/format';
import { DisplayNames } from '../web/display-names';
import { str } from '../web/forms';
import { ListFilters } from '../web/list-filters';
import { Me, PortalContext, PortalRequest, safeReturn } from '../web/portal-request';
import { PortalController } from '../web/portal-controller';
import { PortalViews } from '../web/portal-views';

type Q = Record<string, unknown>;
type Form = Record<string, unknown>;

const riskCode = (value: unknown): RiskCode | undefined => (typeof value === 'string' && (RISK_CODES as readonly string[]).includes(value) ? (value as RiskCode) : undefined);
const ids = (value: unknown): string[] => (Array.isArray(value) ? value : [value]).filter((v): v is string => typeof v === 'string' && UUID_PATTERN.test(v));

/** What both quality pages share: the report for a person's range, grouped as asked, with reason counts per day for the chart. */
async function qualityReport(reports: QualityReportService, lists: ListFilters, me: PortalContext, query: Q) {
  const list = await lists.read(me, query);
  const groupBy = (QUALITY_DIMENSIONS as readonly string[]).includes(String(query.groupBy)) ? (query.groupBy as QualityDimension) : 'affiliate';
  const range = { from: list.filters.from, to: list.filters.to };
  const [rows, perDay] = await Promise.all([reports.report(me.actor, { ...range, groupBy: [groupBy] }), reports.report(me.actor, { ...range, groupBy: ['day'] })]);
  const days = daysBetween(range.from, range.to);
  const codes = RISK_CODES.filter((code) => perDay.some((r) => r.reasons[code]));
  const chart: ChartData = {
    days,
    series: codes.map((code) => ({ label: code, scale: 'n', values: days.map((day) => String(perDay.find((r) => r.day === day)?.reasons[code] ?? 0)) })),
  };
  const totals = perDay.reduce(
    (t, r) => {
      t.items += r.clicks + r.conversions;
      for (const [code, n] of Object.entries(r.reasons)) t.reasons[code] = (t.reasons[code] ?? 0) + n;
      return t;
    },
    { items: 0, reasons: {} as Record<string, number> },
  );
  return { list, groupBy, rows, chart, totals, dimensions: QUALITY_DIMENSIONS.filter((d) => d !== 'day'), codes: RISK_CODES, weights: RISK_WEIGHTS };
}

/** The advertiser's traffic quality: the review queue (filter by reason, decide in bulk), open appeals, and the quality report. */
@PortalController('portal/advertiser/quality', 'advertiser')
export class AdvertiserQualityController {
  constructor(
    private readonly views: PortalViews,
    private readonly lists: ListFilters,
    private readonly names: DisplayNames,
    private readonly conversions: ConversionsService,
    private readonly appeals: AppealsService,
    private readonly reports: QualityReportService,
  ) {}

  @Get()
  async review(@Me() me: PortalContext, @Req() request: PortalRequest, @Res() reply: FastifyReply, @Query() query: Q) {
    const reason = riskCode(query.reason);
    const cursor = typeof query.cursor === 'string' ? query.cursor : undefined;
    const page = await this.conversions.list(me.actor, { hold: 'review', riskReason: reason, cursor, limit: 50 });
    const open = await this.appeals.openAppeals(me.actor);
    const appealed = await Promise.all(open.map((a) => this.conversions.get(a.conversionId, me.actor).then((r) => ({ appeal: a, c: r.conversion }))));
    const shown: Conversion[] = [...page.data, ...appealed.map((x) => x.c)];
    const [offerNames, affiliateNames] = await Promise.all([this.names.offers(shown.map((c) => c.offerId)), this.names.principals(shown.map((c) => c.affiliateId))]);
    return this.views.page(request, reply, me, 'quality/review', {
      title: 'Review',
      page,
      reason,
      codes: RISK_CODES,
      appealed,
      offerNames,
      affiliateNames,
      messageMax: APPEAL_MESSAGE_MAX,
      decided: typeof query.decided === 'string' ? query.decided : null,
    });
  }

  /** Approve or reject the ticked held conversions. */
  @Post('decide')
  async decide(@Me() me: PortalContext, @Req() request: PortalRequest, @Res() reply: FastifyReply, @Body() body: Form) {
    const decision = str(body, 'decision') === 'approve' ? 'approved' : 'rejected';
    let done = 0;
    for (const id of ids(body.ids).slice(0, 200)) {
      try {
        await this.conversions.transition(id, decision, { type: 'principal', id: me.principalId }, decision === 'rejected' ? 'risk' : 'reviewed', me.actor);
        done++;
      } catch (error) {
        if (!(error instanceof AppError)) throw error;
      }
    }
    return this.views.redirect(request, reply, `${safeReturn(body.back, '/portal/advertiser/quality').split('?')[0]}?decided=${done}`);
  }

  @Post('appeals/:id/:appealId')
  async resolve(
    @Me() me: PortalContext,
    @Req() request: PortalRequest,
    @Res() reply: FastifyReply,
    @Param('id', ParseIdPipe) id: string,
    @Param('appealId', ParseIdPipe) appealId: string,
    @Body() body: Form,
  ) {
    const message = str(body, 'message').trim().slice(0, APPEAL_MESSAGE_MAX) || (str(body, 'decision') === 'approve' ? 'Approved on review.' : 'Rejected on review.');
    await this.appeals.resolve(me.actor, id, appealId, str(body, 'decision') === 'approve' ? 'approve' : 'reject', message);
    return this.views.redirect(request, reply, '/portal/advertiser/quality?notice=saved');
  }

  @Get('report')
  async report(@Me() me: PortalContext, @Req() request: PortalRequest, @Res() reply: FastifyReply, @Query() query: Q) {
    const data = await qualityReport(this.reports, this.lists, me, query);
    const [offerNames, affiliateNames] = await Promise.all([this.names.offers(data.rows.map((r) => r.offerId)), this.names.principals(data.rows.map((r) => r.affiliateId))]);
    return this.views.page(request, reply, me, 'quality/report', { title: 'Quality report', base: '/portal/advertiser/quality/report', ...data, offerNames, affiliateNames });
  }
}

/** The affiliate's traffic quality: its held and rejected conversions with their reasons, the appeal form, and the quality report. */
@PortalController('portal/affiliate/quality', 'affiliate')
export class AffiliateQualityController {
  constructor(
    private readonly views: PortalViews,
    private readonly lists: ListFilters,
    private readonly names: DisplayNames,
    private readonly conversions: ConversionsService,
    private readonly appeals: AppealsService,
    private readonly reports: QualityReportService,
  ) {}

  @Get()
  async conversionsToAppeal(@Me() me: PortalContext, @Req() request: PortalRequest, @Res() reply: FastifyReply) {
    const [held, rejected] = await Promise.all([
      this.conversions.list(me.actor, { hold: 'review', limit: 50 }),
      this.conversions.list(me.actor, { status: 'rejected', limit: 50 }),
    ]);
    const rows = [...held.data, ...rejected.data];
    const [offerNames, appeals] = await Promise.all([this.names.offers(rows.map((c) => c.offerId)), this.appeals.latestOf(rows.map((c) => c.id))]);
    return this.views.page(request, reply, me, 'quality/affiliate', {
      title: 'Quality',
      held: held.data,
      rejected: rejected.data,
      offerNames,
      appeals,
      messageMax: APPEAL_MESSAGE_MAX,
    });
  }

  @Post(':id/appeal')
  async appeal(@Me() me: PortalContext, @Req() request: PortalRequest, @Res() reply: FastifyReply, @Param('id', ParseIdPipe) id: string, @Body() body: Form) {
    const message = str(body, 'message').trim();
    if (!message || message.length > APPEAL_MESSAGE_MAX) return this.views.redirect(request, reply, '/portal/affiliate/quality?notice=appeal_invalid');
    await this.appeals.open(me.actor, id, message);
    return this.views.redirect(request, reply, '/portal/affiliate/quality?notice=appealed');
  }

  @Get('report')
  async report(@Me() me: PortalContext, @Req() request: PortalRequest, @Res() reply: FastifyReply, @Query() query: Q) {
    const data = await qualityReport(this.reports, this.lists, me, query);
    const offerNames = await this.names.offers(data.rows.map((r) => r.offerId));
    return this.views.page(request, reply, me, 'quality/report', {
      title: 'Quality report',
      base: '/portal/affiliate/quality/report',
      ...data,
      offerNames,
      affiliateNames: new Map(),
    });
  }
}
