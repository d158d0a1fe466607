import { Body, Get, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Config } from '../../../config/configuration';
import { PrincipalsService } from '../../principals/principals.service';
import type { FastifyReply } from 'fastify';
import { toString as qrSvg } from 'qrcode';
import { ParseIdPipe } from '../../../common/http/parse-id.pipe';
import { ConversionsService } from '../../conversions/conversions.service';
import { CONVERSION_STATUSES } from '../../conversions/conversion.entity';
import { LedgerService } from '../../ledger/ledger.service';
import { OffersService } from '../../offers/offers.service';
import { toOfferView } from '../../offers/offer.view';
import { PayoutDestinationsService } from '../../payouts/payout-destinations.service';
import { PayoutRunsService } from '../../payouts/payout-runs.service';
import { PartnerPostbacksService } from '../../partner-postbacks/partner-postbacks.service';
import { PutPartnerPostbackSettingDto } from '../../partner-postbacks/dto/partner-postbacks.dto';
import { PARTNER_POSTBACK_MACROS } from '../../partner-postbacks/partner-postback-macros';
import { CouponsService } from '../../tracking/coupons.service';
import { CreateCouponDto } from '../../tracking/dto/coupons.dto';
import { CreateLinkDto } from '../../tracking/dto/links.dto';
import { COUPON_STATUSES } from '../../tracking/coupon.entity';
import { LinksService } from '../../tracking/links.service';
import { CHANNELS, SUB_IDS } from '../../tracking/tracking-link.entity';
import { moneyPerDay } from '../web/chart';
import { DisplayNames } from '../web/display-names';
import { opt, str, toDto, tryForm } from '../web/forms';
import { ListFilters } from '../web/list-filters';
import { isHtmx, Me, PortalContext, PortalRequest } from '../web/portal-request';
import { PortalController } from '../web/portal-controller';
import { PortalViews } from '../web/portal-views';
import { StatementDownloads } from '../web/statement-downloads';

type Form = Record<string, unknown>;
type Q = Record<string, unknown>;

const PAYOUT_STATUSES = ['pending', 'transferring', 'paid', 'failed'] as const;

/** The affiliate's portal: earnings, offers, links, coupons, conversions, payouts, statements, partner postbacks. */
@PortalController('portal/affiliate', 'affiliate')
export class AffiliateController {
  constructor(
    private readonly views: PortalViews,
    private readonly lists: ListFilters,
    private readonly names: DisplayNames,
    private readonly ledger: LedgerService,
    private readonly conversions: ConversionsService,
    private readonly offers: OffersService,
    private readonly links: LinksService,
    private readonly coupons: CouponsService,
    private readonly runs: PayoutRunsService,
    private readonly payoutAccounts: PayoutDestinationsService,
    private readonly partnerPostbacks: PartnerPostbacksService,
    private readonly statements: StatementDownloads,
    private readonly accounts: PrincipalsService,
    config: ConfigService<Config, true>,
  ) {
    this.defaultThreshold = config.get('app', { infer: true }).defaultPayoutThreshold;
  }

  private readonly defaultThreshold: number;

  @Get()
  async earnings(@Me() me: PortalContext, @Req() request: PortalRequest, @Res() reply: FastifyReply, @Query() query: Q) {
    const list = await this.lists.read(me, query);
    const [{ balances }, perDay, recent] = await Promise.all([
      this.ledger.earnings(me.actor, undefined),
      this.conversions.perDay(me.actor, { from: new Date(list.range.from), to: new Date(list.range.to), timezone: me.timeZone }),
      this.conversions.list(me.actor, { limit: 5 }),
    ]);
    const offerNames = await this.names.offers(recent.data.map((c) => c.offerId));
    const chart = moneyPerDay(list.filters.from, list.filters.to, perDay, (t) => t.payout ?? 0);
    const totals = [...new Set(perDay.map((d) => d.currency))].map((currency) => ({
      currency,
      payout: perDay.filter((d) => d.currency === currency).reduce((sum, d) => sum + (d.payout ?? 0), 0),
      conversions: perDay.filter((d) => d.currency === currency).reduce((sum, d) => sum + d.accepted, 0),
    }));
    return this.views.page(request, reply, me, 'affiliate/earnings', { title: 'Earnings', balances, chart, totals, list, recent: recent.data, offerNames });
  }

  @Get('offers')
  async offerList(@Me() me: PortalContext, @Req() request: PortalRequest, @Res() reply: FastifyReply, @Query() query: Q) {
    const cursor = typeof query.cursor === 'string' ? query.cursor : undefined;
    const page = await this.offers.list(me.actor, { cursor, status: 'active', limit: 25 });
    return this.views.page(request, reply, me, 'affiliate/offers', {
      title: 'Offers',
      offers: page.data.map((o) => toOfferView(o, me.actor)),
      nextCursor: page.nextCursor,
      cursor,
    });
  }

  @Get('offers/:id')
  async offer(@Me() me: PortalContext, @Req() request: PortalRequest, @Res() reply: FastifyReply, @Param('id', ParseIdPipe) id: string) {
    const offer = toOfferView(await this.offers.getVisible(me.actor, id), me.actor);
    return this.views.page(request, reply, me, 'affiliate/offer', { title: offer.name, offer, channels: CHANNELS, values: { offerId: offer.id } });
  }

  @Post('offers/:id/apply')
  async apply(@Me() me: PortalContext, @Req() request: PortalRequest, @Res() reply: FastifyReply, @Param('id', ParseIdPipe) id: string, @Body() body: Form) {
    const problem = await tryForm(() => this.offers.apply(me.actor, id, { note: opt(body, 'note') }));
    if (!problem) return this.views.redirect(request, reply, `/portal/affiliate/offers/${id}?notice=applied`);
    const offer = toOfferView(await this.offers.getVisible(me.actor, id), me.actor);
    return this.views.page(request, reply, me, 'affiliate/offer', { title: offer.name, offer, channels: CHANNELS, problem, values: { note: opt(body, 'note') } }, 422);
  }

  @Get('links')
  async linkList(@Me() me: PortalContext, @Req() request: PortalRequest, @Res() reply: FastifyReply, @Query() query: Q) {
    return this.linksPage(me, request, reply, query, { offerId: typeof query.offerId === 'string' ? query.offerId : '' });
  }

  @Post('links')
  async createLink(@Me() me: PortalContext, @Req() request: PortalRequest, @Res() reply: FastifyReply, @Body() body: Form) {
    const values = { offerId: str(body, 'offerId'), label: opt(body, 'label'), channel: opt(body, 'channel'), ...Object.fromEntries(SUB_IDS.map((s) => [s, opt(body, s)])) };
    let id = '';
    const problem = await tryForm(async () => (id = (await this.links.create(me.actor, await toDto(CreateLinkDto, values))).id));
    if (!problem) return this.views.redirect(request, reply, `/portal/affiliate/links/${id}?notice=created`);
    return this.linksPage(me, request, reply, {}, values, problem, 422);
  }

  @Get('links/:id')
  async link(@Me() me: PortalContext, @Req() request: PortalRequest, @Res() reply: FastifyReply, @Param('id', ParseIdPipe) id: string) {
    const link = await this.links.get(me.actor, id);
    const url = this.links.url(link.code);
    const [offerNames, qr] = await Promise.all([this.names.offers([link.offerId]), qrSvg(url, { type: 'svg', margin: 1, errorCorrectionLevel: 'M' })]);
    return this.views.page(request, reply, me, 'affiliate/link', { title: link.label ?? 'Tracking link', link, url, qr, offerName: offerNames.get(link.offerId) });
  }

  @Post('links/:id/archive')
  async archiveLink(@Me() me: PortalContext, @Req() request: PortalRequest, @Res() reply: FastifyReply, @Param('id', ParseIdPipe) id: string) {
    await this.links.archive(me.actor, id);
    return this.views.redirect(request, reply, `/portal/affiliate/links/${id}?notice=saved`);
  }

  @Get('coupons')
  async couponList(@Me() me: PortalContext, @Req() request: PortalRequest, @Res() reply: FastifyReply, @Query() query: Q) {
    return this.couponsPage(me, request, reply, query, {});
  }

  @Post('coupons')
  async requestCoupon(@Me() me: PortalContext, @Req() request: PortalRequest, @Res() reply: FastifyReply, @Body() body: Form) {
    const values = { offerId: str(body, 'offerId'), code: str(body, 'code') };
    const problem = await tryForm(async () => this.coupons.create(me.actor, await toDto(CreateCouponDto, values)));
    if (!problem) return this.views.redirect(request, reply, '/portal/affiliate/coupons?notice=requested');
    return this.couponsPage(me, request, reply, {}, values, problem, 422);
  }

  @Get('conversions')
  async conversionList(@Me() me: PortalContext, @Req() request: PortalRequest, @Res() reply: FastifyReply, @Query() query: Q) {
    const list = await this.lists.read(me, query, CONVERSION_STATUSES);
    const page = await this.conversions.list(me.actor, { ...list.range, status: list.filters.status as never, cursor: list.filters.cursor });
    const offerNames = await this.names.offers(page.data.map((c) => c.offerId));
    return this.views.page(request, reply, me, 'affiliate/conversions', { title: 'Conversions', page, list, offerNames, statuses: CONVERSION_STATUSES });
  }

  @Get('payouts')
  async payoutList(@Me() me: PortalContext, @Req() request: PortalRequest, @Res() reply: FastifyReply, @Query() query: Q) {
    const list = await this.lists.read(me, query, PAYOUT_STATUSES);
    const [page, account, { balances }, principal] = await Promise.all([
      this.runs.listPayouts(me.actor, { ...list.range, status: list.filters.status, cursor: list.filters.cursor }),
      this.payoutAccounts.status(me.principalId),
      this.ledger.earnings(me.actor, undefined),
      this.accounts.getPrincipal(me.principalId),
    ]);
    // Where each balance stands against the threshold: paid by the next run, or how much is still missing.
    const threshold = principal.payoutThreshold ?? this.defaultThreshold;
    const standing = balances.map((b) => ({
      currency: b.currency,
      available: b.available,
      pending: b.pending,
      due: b.available >= Math.max(threshold, 1),
      missing: Math.max(threshold - b.available, 0),
    }));
    return this.views.page(request, reply, me, 'affiliate/payouts', { title: 'Payouts', page, list, account, statuses: PAYOUT_STATUSES, threshold, standing });
  }

  /** Stripe's onboarding page is another site: the link is shown to follow, since form-action CSP stops a cross-site redirect. */
  @Post('payouts/onboard')
  async onboard(@Me() me: PortalContext, @Req() request: PortalRequest, @Res() reply: FastifyReply) {
    const { url } = await this.payoutAccounts.onboard(me.actor);
    return this.views.page(request, reply, me, 'affiliate/onboard', { title: 'Stripe onboarding', url });
  }

  @Get('statements')
  statementsPage(@Me() me: PortalContext, @Req() request: PortalRequest, @Res() reply: FastifyReply, @Query() query: Q) {
    return this.statements.page(me, request, reply, query, 'affiliate/statements');
  }

  @Get('statements/download')
  download(@Me() me: PortalContext, @Req() request: PortalRequest, @Res() reply: FastifyReply, @Query() query: Q) {
    return this.statements.download(me, request, reply, query, 'affiliate/statements');
  }

  @Get('postbacks')
  async partnerPostbackSettings(@Me() me: PortalContext, @Req() request: PortalRequest, @Res() reply: FastifyReply, @Query() query: Q) {
    return this.partnerPostbacksPage(me, request, reply, query, {});
  }

  @Post('postbacks')
  async savePartnerPostback(@Me() me: PortalContext, @Req() request: PortalRequest, @Res() reply: FastifyReply, @Body() body: Form) {
    const values = { urlTemplate: str(body, 'urlTemplate'), offerId: opt(body, 'offerId') };
    const problem = await tryForm(async () => this.partnerPostbacks.put(me.actor, await toDto(PutPartnerPostbackSettingDto, values)));
    if (!problem) return this.views.redirect(request, reply, '/portal/affiliate/postbacks?notice=saved');
    return this.partnerPostbacksPage(me, request, reply, {}, values, problem, 422);
  }

  @Post('postbacks/delete')
  async deletePartnerPostback(@Me() me: PortalContext, @Req() request: PortalRequest, @Res() reply: FastifyReply, @Body() body: Form) {
    await this.partnerPostbacks.remove(me.principalId, opt(body, 'offerId'));
    return this.views.redirect(request, reply, '/portal/affiliate/postbacks?notice=saved');
  }

  /** Fires a sample postback now; with htmx only the result panel changes. */
  @Post('postbacks/test')
  async testPartnerPostback(@Me() me: PortalContext, @Req() request: PortalRequest, @Res() reply: FastifyReply, @Body() body: Form) {
    let attempt = null;
    const problem = await tryForm(async () => (attempt = await this.partnerPostbacks.test(me.actor, opt(body, 'offerId'))));
    if (isHtmx(request)) return this.views.page(request, reply, me, 'affiliate/postback-test', { attempt, problem });
    return this.partnerPostbacksPage(me, request, reply, {}, {}, problem, problem ? 422 : 200, attempt);
  }

  private async linksPage(me: PortalContext, request: PortalRequest, reply: FastifyReply, query: Q, values: Record<string, unknown>, problem?: unknown, status = 200) {
    const cursor = typeof query.cursor === 'string' ? query.cursor : undefined;
    const [page, promotable] = await Promise.all([this.links.list(me.actor, { cursor, limit: 25 }), this.promotableOffers(me)]);
    const offerNames = await this.names.offers(page.data.map((l) => l.offerId));
    const rows = page.data.map((link) => ({ link, url: this.links.url(link.code), offerName: offerNames.get(link.offerId) ?? '—' }));
    return this.views.page(
      request,
      reply,
      me,
      'affiliate/links',
      { title: 'Tracking links', rows, nextCursor: page.nextCursor, cursor, promotable, channels: CHANNELS, values, problem },
      status,
    );
  }

  private async couponsPage(me: PortalContext, request: PortalRequest, reply: FastifyReply, query: Q, values: Record<string, unknown>, problem?: unknown, status = 200) {
    const cursor = typeof query.cursor === 'string' ? query.cursor : undefined;
    const couponStatus = typeof query.status === 'string' && (COUPON_STATUSES as readonly string[]).includes(query.status) ? (query.status as never) : undefined;
    const [page, promotable] = await Promise.all([this.coupons.list(me.actor, { cursor, status: couponStatus, limit: 25 }), this.promotableOffers(me)]);
    const offerNames = await this.names.offers(page.data.map((c) => c.offerId));
    return this.views.page(
      request,
      reply,
      me,
      'affiliate/coupons',
      { title: 'Coupon codes', page, cursor, offerNames, promotable, statuses: COUPON_STATUSES, couponStatus, values, problem },
      status,
    );
  }

  private async partnerPostbacksPage(
    me: PortalContext,
    request: PortalRequest,
    reply: FastifyReply,
    query: Q,
    values: Record<string, unknown>,
    problem?: unknown,
    status = 200,
    attempt: unknown = null,
  ) {
    const cursor = typeof query.cursor === 'string' ? query.cursor : undefined;
    const [settings, attempts, promotable] = await Promise.all([
      this.partnerPostbacks.list(me.principalId),
      this.partnerPostbacks.attempts(me.actor, { cursor, limit: 20 }),
      this.promotableOffers(me),
    ]);
    const offerNames = await this.names.offers(settings.map((s) => s.offerId));
    return this.views.page(
      request,
      reply,
      me,
      'affiliate/postbacks',
      { title: 'Postbacks', settings, attempts, cursor, offerNames, promotable, macros: PARTNER_POSTBACK_MACROS, values, problem, attempt },
      status,
    );
  }

  /** Offers the affiliate may create links and codes for (the first 200, newest first). */
  private async promotableOffers(me: PortalContext) {
    const page = await this.offers.list(me.actor, { limit: 200 });
    return page.data.filter((o) => o.access === 'approved' && o.offer.status !== 'archived').map((o) => ({ value: o.offer.id, label: o.offer.name }));
  }
}
