import { INVOICE_STATUSES } from '../../billing/billing.entities';
import { Body, Get, HttpStatus, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { FastifyReply } from 'fastify';
import { AppError, ValidationError } from '../../../common/errors';
import { CURRENCY_CODES, currencyExponent, isCurrency } from '../../../common/money';
import { UUID_PATTERN } from '../../../common/validation/validators';
import { conversionsCsv } from '../web/conversions-csv';
import { renderInvoicePdf } from '../web/invoice-pdf';
import { ParseIdPipe } from '../../../common/http/parse-id.pipe';
import { Config } from '../../../config/configuration';
import { PrincipalsService } from '../../principals/principals.service';
import { BillingService } from '../../billing/billing.service';
import { CONVERSION_STATUSES, ConversionStatus } from '../../conversions/conversion.entity';
import { ConversionsService } from '../../conversions/conversions.service';
import { PostbackParamsDto } from '../../conversions/dto/postback.dto';
import { canTransition } from '../../conversions/lifecycle';
import { CreateOfferDto, OfferView, UpdateOfferDto } from '../../offers/dto/offer.dto';
import { ATTRIBUTION_PRIORITIES, OFFER_STATUSES, OFFER_VISIBILITIES } from '../../offers/offer.entity';
import { toOfferView } from '../../offers/offer.view';
import { OffersService } from '../../offers/offers.service';
import { COUPON_STATUSES } from '../../tracking/coupon.entity';
import { CouponsService } from '../../tracking/coupons.service';
import { CreateCouponDto } from '../../tracking/dto/coupons.dto';
import { LinksService } from '../../tracking/links.service';
import { countPerDay, moneyPerDay } from '../web/chart';
import { DisplayNames } from '../web/display-names';
import { humanMessage, str, toDto, tryForm } from '../web/forms';
import { ListFilters } from '../web/list-filters';
import { isHtmx, Me, PortalContext, PortalRequest, safeReturn, withNotice } from '../web/portal-request';
import { oneOf } from '../web/one-of.pipe';
import { PortalController } from '../web/portal-controller';
import { PortalViews } from '../web/portal-views';
import { blankOfferForm, COUNT_CAPS, dtoFromForm, earningsPreview, formFromBody, formFromOffer, OfferForm, ruleOptions } from './offer-form';

type Form = Record<string, unknown>;

const REASON_MISSING = 'Give the reason the affiliate will read.';
const reasonMissing = () => new ValidationError([{ field: 'reason', message: REASON_MISSING }], REASON_MISSING);

/** Most conversions one CSV download holds. */
const CSV_ROWS = 10_000;
type Q = Record<string, unknown>;

const CONVERSION_ACTIONS = { approve: 'approved', reject: 'rejected', reverse: 'reversed' } as const;

/** The advertiser's portal: stats, offers and goals, applications, coupons, conversions, integration, invoices. */
@PortalController('portal/advertiser', 'advertiser')
export class AdvertiserController {
  private readonly publicBaseUrl: string;

  constructor(
    private readonly views: PortalViews,
    private readonly lists: ListFilters,
    private readonly names: DisplayNames,
    private readonly offers: OffersService,
    private readonly conversions: ConversionsService,
    private readonly coupons: CouponsService,
    private readonly links: LinksService,
    private readonly principals: PrincipalsService,
    private readonly billing: BillingService,
    config: ConfigService<Config, true>,
  ) {
    this.publicBaseUrl = config.get('app', { infer: true }).publicBaseUrl;
  }

  @Get()
  async stats(@Me() me: PortalContext, @Req() request: PortalRequest, @Res() reply: FastifyReply, @Query() query: Q) {
    const list = await this.lists.read(me, query);
    const perDay = await this.conversions.perDay(me.actor, { from: new Date(list.range.from), to: new Date(list.range.to), timezone: me.timeZone });
    const chart = moneyPerDay(
      list.filters.from,
      list.filters.to,
      perDay.filter((d) => d.accepted || d.revenue),
      (t) => t.revenue ?? 0,
      (c) => `Cost (${c})`,
    );
    chart.series.push(countPerDay(chart.days, perDay, (t) => t.accepted, 'Conversions'));
    // Counts over every currency; money per currency, only where something was accepted or cost
    // (a conversion rejected for posting another currency than its offer's adds no row of its own).
    const accepted = perDay.reduce((n, d) => n + d.accepted, 0);
    const rejected = perDay.reduce((n, d) => n + d.rejected, 0);
    const counts = { accepted, rejected, approvalRate: accepted + rejected ? Math.round((100 * accepted) / (accepted + rejected)) : null };
    const sum = (currency: string, pick: (t: (typeof perDay)[number]) => number) => perDay.filter((d) => d.currency === currency).reduce((n, d) => n + pick(d), 0);
    const totals = [...new Set(perDay.map((d) => d.currency))]
      .sort()
      .map((currency) => ({ currency, accepted: sum(currency, (d) => d.accepted), saleAmount: sum(currency, (d) => d.saleAmount), cost: sum(currency, (d) => d.revenue ?? 0) }))
      .filter((t) => t.accepted || t.saleAmount || t.cost);
    return this.views.page(request, reply, me, 'advertiser/stats', { title: 'Stats', list, chart, totals, counts });
  }

  @Get('offers')
  async offerList(@Me() me: PortalContext, @Req() request: PortalRequest, @Res() reply: FastifyReply, @Query() query: Q) {
    const cursor = typeof query.cursor === 'string' ? query.cursor : undefined;
    const status = typeof query.status === 'string' && (OFFER_STATUSES as readonly string[]).includes(query.status) ? (query.status as never) : undefined;
    const page = await this.offers.list(me.actor, { cursor, status, limit: 25 });
    return this.views.page(request, reply, me, 'advertiser/offers', {
      title: 'Offers',
      offers: page.data.map((o) => toOfferView(o, me.actor)),
      nextCursor: page.nextCursor,
      cursor,
      status,
      statuses: OFFER_STATUSES,
    });
  }

  @Get('offers/new')
  async newOffer(@Me() me: PortalContext, @Req() request: PortalRequest, @Res() reply: FastifyReply) {
    return this.offerPage(me, request, reply, null, blankOfferForm());
  }

  @Post('offers')
  async createOffer(@Me() me: PortalContext, @Req() request: PortalRequest, @Res() reply: FastifyReply, @Body() body: Form) {
    const form = formFromBody(body, str(body, 'currency') || 'USD');
    return this.saveOffer(me, request, reply, null, form, body);
  }

  @Get('offers/:id')
  async offer(@Me() me: PortalContext, @Req() request: PortalRequest, @Res() reply: FastifyReply, @Param('id', ParseIdPipe) id: string) {
    const offer = await this.ownOffer(me, id);
    return this.offerPage(me, request, reply, offer, formFromOffer(offer));
  }

  @Post('offers/:id')
  async updateOffer(@Me() me: PortalContext, @Req() request: PortalRequest, @Res() reply: FastifyReply, @Param('id', ParseIdPipe) id: string, @Body() body: Form) {
    const offer = await this.ownOffer(me, id);
    return this.saveOffer(me, request, reply, offer, formFromBody(body, offer.currency), body);
  }

  @Get('applications')
  async applications(@Me() me: PortalContext, @Req() request: PortalRequest, @Res() reply: FastifyReply, @Query() query: Q) {
    const status = typeof query.status === 'string' && ['pending', 'approved', 'rejected'].includes(query.status) ? (query.status as 'pending') : 'pending';
    const offers = (await this.offers.list(me.actor, { limit: 200 })).data.filter((o) => o.offer.visibility !== 'public');
    const rows = (
      await Promise.all(offers.map(async ({ offer }) => (await this.offers.listApplications(me.actor, offer.id, status)).map((application) => ({ application, offer }))))
    ).flat();
    const affiliateNames = await this.names.principals(rows.map((r) => r.application.affiliateId));
    return this.views.page(request, reply, me, 'advertiser/applications', { title: 'Applications', rows, affiliateNames, status });
  }

  @Post('offers/:id/applications/:affiliateId/:decision')
  async decide(
    @Me() me: PortalContext,
    @Req() request: PortalRequest,
    @Res() reply: FastifyReply,
    @Param('id', ParseIdPipe) id: string,
    @Param('affiliateId', ParseIdPipe) affiliateId: string,
    @Param('decision', oneOf('approve', 'reject')) decision: 'approve' | 'reject',
  ) {
    await this.offers.decide(me.actor, id, affiliateId, decision === 'approve' ? 'approved' : 'rejected');
    return this.views.redirect(request, reply, `/portal/advertiser/applications?notice=${decision === 'approve' ? 'approved' : 'rejected'}`);
  }

  @Get('coupons')
  async couponList(@Me() me: PortalContext, @Req() request: PortalRequest, @Res() reply: FastifyReply, @Query() query: Q) {
    return this.couponsPage(me, request, reply, query, {});
  }

  @Post('coupons')
  async assignCoupon(@Me() me: PortalContext, @Req() request: PortalRequest, @Res() reply: FastifyReply, @Body() body: Form) {
    const values = { offerId: str(body, 'offerId'), affiliateId: str(body, 'affiliateId'), code: str(body, 'code') };
    const problem = await tryForm(async () => this.coupons.create(me.actor, await toDto(CreateCouponDto, values)));
    if (!problem) return this.views.redirect(request, reply, '/portal/advertiser/coupons?notice=created');
    return this.couponsPage(me, request, reply, {}, values, problem, 422);
  }

  @Post('coupons/:id/:action')
  async couponAction(
    @Me() me: PortalContext,
    @Req() request: PortalRequest,
    @Res() reply: FastifyReply,
    @Param('id', ParseIdPipe) id: string,
    @Param('action', oneOf('approve', 'reject', 'revoke')) action: 'approve' | 'reject' | 'revoke',
  ) {
    await this.coupons[action](me.actor, id);
    return this.views.redirect(request, reply, `/portal/advertiser/coupons?notice=${action === 'approve' ? 'approved' : action === 'reject' ? 'rejected' : 'revoked'}`);
  }

  @Get('conversions')
  async conversionList(@Me() me: PortalContext, @Req() request: PortalRequest, @Res() reply: FastifyReply, @Query() query: Q) {
    const { list, search } = await this.conversionQuery(me, query);
    const [page, offers, partnerIds] = await Promise.all([
      this.conversions.list(me.actor, { ...list.range, status: list.filters.status as ConversionStatus | undefined, cursor: list.filters.cursor, ...search }),
      this.offers.list(me.actor, { limit: 200 }),
      this.partnerIds(me),
    ]);
    const [offerNames, affiliateNames] = await Promise.all([
      this.names.offers([...page.data.map((c) => c.offerId), ...offers.data.map((o) => o.offer.id)]),
      this.names.principals([...page.data.map((c) => c.affiliateId), ...partnerIds]),
    ]);
    const params = { ...list.params, ...search };
    return this.views.page(request, reply, me, 'advertiser/conversions', {
      title: 'Conversions',
      page,
      list,
      search,
      params,
      offerOptions: offers.data.map((o) => ({ value: o.offer.id, label: o.offer.name })),
      affiliateOptions: partnerIds.map((id) => ({ value: id, label: affiliateNames.get(id) ?? id })).sort((a, b) => a.label.localeCompare(b.label)),
      offerNames,
      affiliateNames,
      statuses: CONVERSION_STATUSES,
      can: canTransition,
    });
  }

  /** The conversions of the search as CSV (at most CSV_ROWS, newest first), money as decimals. */
  @Get('conversions.csv')
  async conversionCsv(@Me() me: PortalContext, @Res() reply: FastifyReply, @Query() query: Q) {
    const { list, search } = await this.conversionQuery(me, query);
    const rows: Awaited<ReturnType<ConversionsService['list']>>['data'] = [];
    let cursor: string | undefined;
    do {
      const page = await this.conversions.list(me.actor, { ...list.range, status: list.filters.status as ConversionStatus | undefined, cursor, limit: 500, ...search });
      rows.push(...page.data);
      cursor = page.nextCursor ?? undefined;
    } while (cursor && rows.length < CSV_ROWS);
    const [offerNames, affiliateNames] = await Promise.all([this.names.offers(rows.map((c) => c.offerId)), this.names.principals(rows.map((c) => c.affiliateId))]);
    const csv = conversionsCsv(rows.slice(0, CSV_ROWS), offerNames, affiliateNames);
    return reply
      .type('text/csv; charset=utf-8')
      .header('cache-control', 'no-store')
      .header('content-disposition', `attachment; filename="conversions-${list.filters.from}-${list.filters.to}.csv"`)
      .send(csv);
  }

  /** Approves or rejects (with the reason the affiliates read) every selected conversion that may move so; the others are left as they are. */
  @Post('conversions/bulk')
  async bulk(@Me() me: PortalContext, @Req() request: PortalRequest, @Res() reply: FastifyReply, @Body() body: Form) {
    const action = str(body, 'action');
    if (action !== 'approve' && action !== 'reject') throw new ValidationError([{ field: 'action', message: 'Choose approve or reject.' }], 'Choose approve or reject.');
    const ids = [body.ids]
      .flat()
      .filter((id): id is string => typeof id === 'string' && UUID_PATTERN.test(id))
      .slice(0, 500);
    if (!ids.length) throw new ValidationError([{ field: 'ids', message: 'Select at least one conversion.' }], 'Select at least one conversion.');
    const reason = str(body, 'reason').slice(0, 500);
    if (action === 'reject' && !reason) throw reasonMissing();
    const to = CONVERSION_ACTIONS[action];
    for (const id of ids) {
      // Another advertiser's id is a 404 from the service, as for one conversion.
      const { conversion } = await this.conversions.get(id, me.actor);
      if (canTransition(conversion.status, to)) await this.conversions.transition(id, to, { type: 'principal', id: me.principalId }, reason || null, me.actor);
    }
    return this.views.redirect(request, reply, withNotice(safeReturn(body.back, '/portal/advertiser/conversions'), to));
  }

  /** The search of the conversions page: days, status, and a transaction id, offer or affiliate. */
  private async conversionQuery(me: PortalContext, query: Q) {
    const list = await this.lists.read(me, query, CONVERSION_STATUSES);
    const id = (name: string) => (typeof query[name] === 'string' && UUID_PATTERN.test(query[name] as string) ? (query[name] as string).toLowerCase() : undefined);
    const txnId = typeof query.txnId === 'string' && query.txnId.trim() ? query.txnId.trim().slice(0, 255) : undefined;
    return { list, search: { txnId, offerId: id('offerId'), affiliateId: id('affiliateId') } };
  }

  /**
   * Approve, reject or reverse; with htmx the row is swapped in place, otherwise the list is shown
   * again. Rejecting and reversing take the reason the affiliate reads; a pending conversion is
   * rejected, never reversed (nothing was earned yet to take back).
   */
  @Post('conversions/:id/:action')
  async moveConversion(
    @Me() me: PortalContext,
    @Req() request: PortalRequest,
    @Res() reply: FastifyReply,
    @Param('id', ParseIdPipe) id: string,
    @Param('action', oneOf('approve', 'reject', 'reverse')) action: keyof typeof CONVERSION_ACTIONS,
    @Body() body: Form,
  ) {
    // Another advertiser's id is a 404 before anything is said about the form.
    const { conversion: current } = await this.conversions.get(id, me.actor);
    const reason = str(body, 'reason').slice(0, 500);
    if (action !== 'approve' && !reason) throw reasonMissing();
    if (action === 'reverse' && current.status === 'pending') {
      throw new AppError('conversion_pending', HttpStatus.CONFLICT, 'A pending conversion is rejected, not reversed: nothing was earned yet to take back.');
    }
    const conversion = await this.conversions.transition(id, CONVERSION_ACTIONS[action], { type: 'principal', id: me.principalId }, reason || null, me.actor);
    const back = safeReturn(body.back, '/portal/advertiser/conversions');
    if (!isHtmx(request)) return this.views.redirect(request, reply, withNotice(back, CONVERSION_ACTIONS[action]));
    const [offerNames, affiliateNames] = await Promise.all([this.names.offers([conversion.offerId]), this.names.principals([conversion.affiliateId])]);
    return this.views.page(request, reply, me, 'advertiser/conversion-row', {
      c: conversion,
      offerNames,
      affiliateNames,
      can: canTransition,
      back,
      updated: true,
    });
  }

  @Get('integration')
  async integration(@Me() me: PortalContext, @Req() request: PortalRequest, @Res() reply: FastifyReply) {
    return this.integrationPage(me, request, reply, { goal: 'sale', txn_id: `TEST-${Date.now().toString(36).toUpperCase()}`, amount: '49.99', currency: '' });
  }

  @Post('integration/rotate')
  async rotateToken(@Me() me: PortalContext, @Req() request: PortalRequest, @Res() reply: FastifyReply) {
    await this.principals.rotatePostbackToken(me.principalId);
    return this.views.redirect(request, reply, '/portal/advertiser/integration?notice=saved');
  }

  /**
   * Explains what the postback would do with these parameters, using the conversion path's own
   * attribution, checks, caps and rules (ConversionsService.preview) without recording anything:
   * a test never creates a conversion, moves money or calls an affiliate's postback.
   */
  @Post('integration/test')
  async testPartnerPostback(@Me() me: PortalContext, @Req() request: PortalRequest, @Res() reply: FastifyReply, @Body() body: Form) {
    const values = Object.fromEntries(['token', 'click_id', 'coupon', 'goal', 'txn_id', 'amount', 'currency'].map((k) => [k, str(body, k)]));
    const raw = Object.fromEntries(Object.entries(values).filter(([, v]) => v !== ''));
    const result: Record<string, unknown> = {};
    result.tokenOk = values.token ? (await this.principals.advertiserForPostbackToken(values.token)) === me.principalId : null;
    const problem = await tryForm(async () => {
      const params = await toDto(PostbackParamsDto, raw);
      const { existing, draft } = await this.conversions.preview({
        advertiserId: me.principalId,
        source: 'postback',
        goal: params.goal,
        txnId: params.txn_id,
        clickId: params.click_id,
        coupon: params.coupon,
        amount: params.amount !== undefined ? { decimal: params.amount } : null,
        currency: params.currency,
      });
      Object.assign(result, { existing, draft });
      const outcome = existing ?? draft;
      const [offerNames, affiliateNames] = await Promise.all([this.names.offers([outcome?.offerId]), this.names.principals([outcome?.affiliateId])]);
      Object.assign(result, {
        offerName: outcome?.offerId ? offerNames.get(outcome.offerId) : null,
        affiliateName: outcome?.affiliateId ? affiliateNames.get(outcome.affiliateId) : null,
      });
    });
    if (isHtmx(request)) return this.views.page(request, reply, me, 'advertiser/postback-explain', { result, problem });
    return this.integrationPage(me, request, reply, values, { result, problem });
  }

  @Get('invoices')
  async invoices(@Me() me: PortalContext, @Req() request: PortalRequest, @Res() reply: FastifyReply, @Query() query: Q) {
    const list = await this.lists.read(me, { from: '', to: '', ...query }, INVOICE_STATUSES);
    const page = await this.billing.list(me.actor, { createdFrom: list.range.from, createdTo: list.range.to, status: list.filters.status, cursor: list.filters.cursor });
    return this.views.page(request, reply, me, 'advertiser/invoices', { title: 'Invoices', page, list, statuses: INVOICE_STATUSES });
  }

  /** The invoice as a PDF to download (another advertiser's id is a 404). */
  @Get('invoices/:id/pdf')
  async invoicePdf(@Me() me: PortalContext, @Res() reply: FastifyReply, @Param('id', ParseIdPipe) id: string) {
    const invoice = await this.billing.get(me.actor, id);
    return reply
      .type('application/pdf')
      .header('cache-control', 'no-store')
      .header('content-disposition', `attachment; filename="invoice-${invoice.stripeInvoiceId ?? invoice.id.slice(0, 8)}.pdf"`)
      .send(renderInvoicePdf(invoice, me.principalName, me.timeZone));
  }

  /** The offers service shows an advertiser its own offers only: another's id is a 404. */
  private async ownOffer(me: PortalContext, id: string): Promise<OfferView> {
    return toOfferView(await this.offers.getVisible(me.actor, id), me.actor);
  }

  private async saveOffer(me: PortalContext, request: PortalRequest, reply: FastifyReply, offer: OfferView | null, form: OfferForm, body: Form) {
    if (str(body, '_action') && str(body, '_action') !== 'save') return this.offerPage(me, request, reply, offer, form);
    const { dto, fields } = dtoFromForm(form, offer?.currency ?? (isCurrency(form.currency) ? form.currency : 'USD'));
    let id = offer?.id ?? '';
    const problem = await tryForm(async () => {
      if (!offer) dto.currency = form.currency;
      const valid = offer ? await toDto(UpdateOfferDto, dto) : await toDto(CreateOfferDto, dto);
      if (Object.keys(fields).length) throw new ValidationError(Object.entries(fields).map(([field, message]) => ({ field, message })));
      id = offer ? (await this.offers.update(me.actor, offer.id, valid)).id : (await this.offers.create(me.actor, valid as CreateOfferDto)).id;
    });
    if (!problem) return this.views.redirect(request, reply, `/portal/advertiser/offers/${id}?notice=saved`);
    // Conversion problems (money, percent) first: the DTO then reports the same fields as merely missing.
    problem.fields = { ...problem.fields, ...Object.fromEntries(Object.entries(fields).map(([field, message]) => [field, humanMessage(field, message)])) };
    return this.offerPage(me, request, reply, offer, form, problem, 422);
  }

  private async offerPage(me: PortalContext, request: PortalRequest, reply: FastifyReply, offer: OfferView | null, form: OfferForm, problem?: unknown, status = 200) {
    const knownIds = [...(await this.partnerIds(me)), ...form.goals.flatMap((g) => g.overrides.map((o) => o.affiliateId))];
    const partners = [...(await this.names.principals(knownIds))].map(([value, label]) => ({ value, label })).sort((a, b) => a.label.localeCompare(b.label));
    return this.views.page(
      request,
      reply,
      me,
      'advertiser/offer-form',
      {
        title: offer ? offer.name : 'New offer',
        offer,
        form,
        previews: await earningsPreview(form, offer?.currency ?? (isCurrency(form.currency) ? form.currency : 'USD')),
        problem,
        partners,
        statuses: OFFER_STATUSES,
        visibilities: OFFER_VISIBILITIES,
        priorities: ATTRIBUTION_PRIORITIES,
        countCaps: COUNT_CAPS,
        ruleOptions,
        currencyExponent,
        // Labels name the offer's currency only once it is a real one (never text typed into the form).
        labelCurrency: isCurrency(form.currency) ? form.currency : 'USD',
        currencies: [...new Set([...(isCurrency(form.currency) ? [form.currency] : []), 'USD', 'EUR', 'GBP', ...CURRENCY_CODES])],
      },
      status,
    );
  }

  private async couponsPage(me: PortalContext, request: PortalRequest, reply: FastifyReply, query: Q, values: Record<string, unknown>, problem?: unknown, status = 200) {
    const cursor = typeof query.cursor === 'string' ? query.cursor : undefined;
    const couponStatus = typeof query.status === 'string' && (COUPON_STATUSES as readonly string[]).includes(query.status) ? (query.status as never) : undefined;
    const [page, offers, partnerIds] = await Promise.all([
      this.coupons.list(me.actor, { cursor, status: couponStatus, limit: 25 }),
      this.offers.list(me.actor, { limit: 200 }),
      this.partnerIds(me),
    ]);
    const [offerNames, affiliateNames] = await Promise.all([
      this.names.offers(page.data.map((c) => c.offerId)),
      this.names.principals([...page.data.map((c) => c.affiliateId), ...partnerIds]),
    ]);
    const partners = partnerIds.map((id) => ({ value: id, label: affiliateNames.get(id) ?? id }));
    const offerOptions = offers.data.filter((o) => o.offer.status !== 'archived').map((o) => ({ value: o.offer.id, label: o.offer.name }));
    return this.views.page(
      request,
      reply,
      me,
      'advertiser/coupons',
      { title: 'Coupon codes', page, cursor, couponStatus, statuses: COUPON_STATUSES, offerNames, affiliateNames, partners, offerOptions, values, problem },
      status,
    );
  }

  private async integrationPage(me: PortalContext, request: PortalRequest, reply: FastifyReply, values: Record<string, string>, test?: { result: unknown; problem: unknown }) {
    const [token] = await this.principals.livePostbackTokens(me.principalId);
    const postbackUrl = `${this.publicBaseUrl}/postback?token=${token ?? 'YOUR_TOKEN'}&click_id={click_id}&goal=sale&txn_id={order_id}&amount={order_total}&currency={currency}`;
    return this.views.page(request, reply, me, 'advertiser/integration', {
      title: 'Integration',
      token,
      postbackUrl,
      pixelUrl: `${this.publicBaseUrl}/pixel.gif?goal=sale&txn_id={order_id}&amount={order_total}&currency={currency}`,
      values: { token: token ?? '', ...values, ...(values.token ? { token: values.token } : {}) },
      test,
    });
  }

  /** Affiliates working with this advertiser (they have links on its offers): the ones it may pick for overrides and codes. */
  private async partnerIds(me: PortalContext): Promise<string[]> {
    const links = await this.links.list(me.actor, { limit: 500 });
    return [...new Set(links.data.map((l) => l.affiliateId))];
  }
}
