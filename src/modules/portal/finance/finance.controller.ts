import { INVOICE_STATUSES } from '../../billing/billing.entities';
import { Body, Get, HttpStatus, Param, Post, Query, Req, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { AppError, invalidField } from '../../../common/errors';
import { ParseIdPipe } from '../../../common/http/parse-id.pipe';
import { CURRENCY_CODES } from '../../../common/money';
import { BillingService } from '../../billing/billing.service';
import { PayoutRunsService } from '../../payouts/payout-runs.service';
import { renderSummaryCsv } from '../../statements/render';
import { ADVERTISER_COLUMNS, AFFILIATE_COLUMNS } from '../../statements/statements.controller';
import { StatementsService } from '../../statements/statements.service';
import { DisplayNames } from '../web/display-names';
import { opt, str, tryForm } from '../web/forms';
import { dayIn, isDay } from '../web/format';
import { ListFilters } from '../web/list-filters';
import { isHtmx, Me, PortalContext, PortalRequest } from '../web/portal-request';
import { PortalController } from '../web/portal-controller';
import { PortalViews } from '../web/portal-views';
import { StatementDownloads } from '../web/statement-downloads';

type Form = Record<string, unknown>;
type Q = Record<string, unknown>;

const PAYOUT_STATUSES = ['pending', 'transferring', 'paid', 'failed'] as const;

const LIVE = new Set(['queued', 'running']);

/** Finance (and admins): payout runs with preview and live progress, invoice runs, statements and period summaries. */
@PortalController('portal/finance', 'finance', 'admin')
export class FinanceController {
  constructor(
    private readonly views: PortalViews,
    private readonly lists: ListFilters,
    private readonly names: DisplayNames,
    private readonly runs: PayoutRunsService,
    private readonly billing: BillingService,
    private readonly statements: StatementsService,
    private readonly downloads: StatementDownloads,
  ) {}

  @Get()
  async payouts(@Me() me: PortalContext, @Req() request: PortalRequest, @Res() reply: FastifyReply, @Query() query: Q) {
    return this.payoutsPage(me, request, reply, query, { currency: 'USD' });
  }

  /** A dry run stores its preview as a run of its own: the preview page is that run's page. */
  @Post('payout-runs')
  async requestRun(@Me() me: PortalContext, @Req() request: PortalRequest, @Res() reply: FastifyReply, @Body() body: Form) {
    const currency = str(body, 'currency');
    let id = '';
    const problem = await tryForm(async () => {
      if (!CURRENCY_CODES.includes(currency)) throw invalidField('currency', 'choose a currency');
      const dryRun = str(body, 'dryRun') === 'true';
      // A run with nobody to pay would only be an empty run in the list.
      if (!dryRun && !(await this.runs.due(currency)).length)
        throw new AppError('nothing_due', HttpStatus.CONFLICT, `Nobody is due a payout in ${currency} now: no run was started.`);
      id = (await this.runs.request(me.actor, { currency, dryRun })).id;
    });
    if (!problem) return this.views.redirect(request, reply, `/portal/finance/payout-runs/${id}`);
    return this.payoutsPage(me, request, reply, {}, { currency }, problem, 422);
  }

  @Get('payout-runs/:id')
  async run(@Me() me: PortalContext, @Req() request: PortalRequest, @Res() reply: FastifyReply, @Param('id', ParseIdPipe) id: string) {
    return this.views.page(request, reply, me, isHtmx(request) ? 'finance/run-progress' : 'finance/run', { title: 'Payout run', ...(await this.runData(me, id)) });
  }

  @Get('invoices')
  async invoices(@Me() me: PortalContext, @Req() request: PortalRequest, @Res() reply: FastifyReply, @Query() query: Q) {
    return this.invoicesPage(me, request, reply, query, {});
  }

  @Post('invoice-runs')
  async requestInvoiceRun(@Me() me: PortalContext, @Req() request: PortalRequest, @Res() reply: FastifyReply, @Body() body: Form) {
    const values = { from: str(body, 'from'), to: str(body, 'to'), currency: opt(body, 'currency') };
    let id = '';
    const problem = await tryForm(async () => {
      if (!isDay(values.from)) throw invalidField('from', 'must be a date');
      if (!isDay(values.to)) throw invalidField('to', 'must be a date');
      const period = await this.statements.period(values.from, values.to, me.timeZone);
      id = (await this.billing.request(me.actor, { from: period.from.toISOString(), to: period.to.toISOString(), currency: values.currency })).id;
    });
    if (!problem) return this.views.redirect(request, reply, `/portal/finance/invoice-runs/${id}`);
    return this.invoicesPage(me, request, reply, {}, values, problem, 422);
  }

  @Get('invoice-runs/:id')
  async invoiceRun(@Me() me: PortalContext, @Req() request: PortalRequest, @Res() reply: FastifyReply, @Param('id', ParseIdPipe) id: string) {
    const run = await this.billing.getRun(id);
    const invoices = await this.billing.list(me.actor, { runId: id, limit: 500 });
    const advertiserNames = await this.names.principals(invoices.data.map((i) => i.advertiserId));
    const data = { title: 'Invoice run', run, invoices: invoices.data, advertiserNames, live: LIVE.has(run.status) };
    return this.views.page(request, reply, me, isHtmx(request) ? 'finance/invoice-run-progress' : 'finance/invoice-run', data);
  }

  @Get('statements')
  async statementsPage(@Me() me: PortalContext, @Req() request: PortalRequest, @Res() reply: FastifyReply, @Query() query: Q) {
    const list = await this.lists.read(me, { from: `${dayIn(new Date(), me.timeZone).slice(0, 8)}01`, ...query });
    const period = await this.statements.period(list.filters.from, list.filters.to, me.timeZone);
    const [affiliates, advertisers] = await Promise.all([this.statements.summary('affiliates', period), this.statements.summary('advertisers', period)]);
    return this.downloads.page(me, request, reply, query, 'finance/statements', undefined, 200, { summaries: { list, affiliates, advertisers } });
  }

  @Get('statements/download')
  download(@Me() me: PortalContext, @Req() request: PortalRequest, @Res() reply: FastifyReply, @Query() query: Q) {
    return this.downloads.download(me, request, reply, query, 'finance/statements');
  }

  @Get('statements/summary.csv')
  async summaryCsv(@Me() me: PortalContext, @Res() reply: FastifyReply, @Query() query: Q) {
    const list = await this.lists.read(me, query);
    const period = await this.statements.period(list.filters.from, list.filters.to, me.timeZone);
    const kind = query.kind === 'advertisers' ? 'advertisers' : 'affiliates';
    const csv =
      kind === 'advertisers'
        ? renderSummaryCsv(await this.statements.summary('advertisers', period), ADVERTISER_COLUMNS)
        : renderSummaryCsv(await this.statements.summary('affiliates', period), AFFILIATE_COLUMNS);
    return reply
      .type('text/csv; charset=utf-8')
      .header('cache-control', 'no-store')
      .header('content-disposition', `attachment; filename="summary-${kind}-${list.filters.from}-${list.filters.to}.csv"`)
      .send(csv);
  }

  private async runData(me: PortalContext, id: string) {
    const run = await this.runs.get(id);
    const payouts = run.dryRun ? [] : (await this.runs.listPayouts(me.actor, { runId: id, limit: 500 })).data;
    const affiliateNames = await this.names.principals([...payouts.map((p) => p.affiliateId), ...(run.preview ?? []).map((p) => p.affiliateId)]);
    return { run, payouts, affiliateNames, live: LIVE.has(run.status) };
  }

  private async payoutsPage(me: PortalContext, request: PortalRequest, reply: FastifyReply, query: Q, values: Record<string, unknown>, problem?: unknown, status = 200) {
    const list = await this.lists.read(me, query, PAYOUT_STATUSES);
    const dueCurrency = typeof query.due === 'string' && CURRENCY_CODES.includes(query.due) ? query.due : String(values.currency ?? 'USD');
    const [page, due, recentRuns] = await Promise.all([
      this.runs.listPayouts(me.actor, { ...list.range, status: list.filters.status, cursor: list.filters.cursor }),
      this.runs.due(dueCurrency),
      this.runs.listRuns(10),
    ]);
    const affiliateNames = await this.names.principals([...page.data.map((p) => p.affiliateId), ...due.map((d) => d.affiliateId)]);
    return this.views.page(
      request,
      reply,
      me,
      'finance/payouts',
      { title: 'Payouts', list, page, affiliateNames, currencies: CURRENCY_CODES, statuses: PAYOUT_STATUSES, values, problem, due, dueCurrency, recentRuns },
      status,
    );
  }

  private async invoicesPage(me: PortalContext, request: PortalRequest, reply: FastifyReply, query: Q, values: Record<string, unknown>, problem?: unknown, status = 200) {
    const list = await this.lists.read(me, query, INVOICE_STATUSES);
    const page = await this.billing.list(me.actor, { createdFrom: list.range.from, createdTo: list.range.to, status: list.filters.status, cursor: list.filters.cursor });
    const advertiserNames = await this.names.principals(page.data.map((i) => i.advertiserId));
    const today = dayIn(new Date(), me.timeZone);
    const defaults = { from: `${today.slice(0, 8)}01`, to: today };
    return this.views.page(
      request,
      reply,
      me,
      'finance/invoices',
      { title: 'Invoices', list, page, advertiserNames, currencies: CURRENCY_CODES, statuses: INVOICE_STATUSES, values: { ...defaults, ...values }, problem },
      status,
    );
  }
}
