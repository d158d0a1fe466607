import { Body, Get, Param, Post, Query, Req, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { AuthPrincipal } from '../../../common/auth';
import { MoneyError, parseDecimalAmount } from '../../../common/money';
import { ParseIdPipe } from '../../../common/http/parse-id.pipe';
import { PrincipalsService } from '../../principals/principals.service';
import { conversionsRepository } from '../../conversions/conversions.repository';
import { Offer } from '../../offers/offer.entity';
import { OffersService } from '../../offers/offers.service';
import { BonusesService } from '../../programs/bonuses.service';
import { CreateBonusDto } from '../../programs/dto/bonus.dto';
import { CreateFundingDto } from '../../programs/dto/funding.dto';
import { FundingService } from '../../programs/funding.service';
import { applyRule, RateRule, TieredRule, tierIndex } from '../../rules';
import { DataSource } from 'typeorm';
import { InjectDataSource } from '@nestjs/typeorm';
import { str, toDto, tryForm } from '../web/forms';
import { Me, PortalContext, PortalRequest } from '../web/portal-request';
import { PortalController } from '../web/portal-controller';
import { PortalViews } from '../web/portal-views';
import { formatMoney } from '../web/format';

type Form = Record<string, unknown>;
const PREVIEW_SALE = 10_000;

/** An amount typed in the currency's units ("25.00") as minor units, or the typed text (the DTO then names the field). */
function minor(value: string, currency: string): number | string {
  try {
    return parseDecimalAmount(value, currency);
  } catch (error) {
    if (error instanceof MoneyError) return value;
    throw error;
  }
}

/** "On a 100.00 sale in tier 2 the affiliate earns 12.00", for each tier of a tiered rule. */
async function tierPreview(rule: RateRule, currency: string): Promise<string[]> {
  if (rule.type !== 'tiered') return [];
  const lines: string[] = [];
  for (const [i, tier] of rule.tiers.entries()) {
    const { amount } = await applyRule(rule, { saleAmount: PREVIEW_SALE, currency, monthlyVolume: async () => ({ conversions: tier.from, saleAmount: tier.from }) });
    const from = rule.basis === 'saleAmount' ? `${formatMoney(tier.from, currency)} sold` : `${tier.from} conversions`;
    lines.push(`On a ${formatMoney(PREVIEW_SALE, currency)} sale in tier ${i + 1} (from ${from} this month) the affiliate earns ${formatMoney(amount, currency)}`);
  }
  return lines;
}

async function ownOffers(offers: OffersService, actor: AuthPrincipal): Promise<Offer[]> {
  return (await offers.list(actor, { limit: 200 })).data.map((o) => o.offer);
}

/** The advertiser's programs: bonuses of its offers (and a form for a new one), tier previews, its prepaid funds. */
@PortalController('portal/advertiser/programs', 'advertiser')
export class AdvertiserProgramsController {
  constructor(
    private readonly views: PortalViews,
    private readonly offers: OffersService,
    private readonly bonuses: BonusesService,
    private readonly funding: FundingService,
  ) {}

  @Get()
  show(@Me() me: PortalContext, @Req() request: PortalRequest, @Res() reply: FastifyReply) {
    return this.page(me, request, reply, {}, null, 200);
  }

  @Post('bonuses')
  async addBonus(@Me() me: PortalContext, @Req() request: PortalRequest, @Res() reply: FastifyReply, @Body() body: Form) {
    const values = {
      offerId: str(body, 'offerId'),
      name: str(body, 'name'),
      goal: str(body, 'goal'),
      metric: str(body, 'metric'),
      threshold: str(body, 'threshold'),
      period: str(body, 'period'),
      amount: str(body, 'amount'),
    };
    const problem = await tryForm(async () => {
      const { offer } = await this.offers.getVisible(me.actor, values.offerId || '00000000-0000-4000-8000-000000000000');
      const dto = await toDto(CreateBonusDto, {
        name: values.name,
        ...(values.goal ? { goal: values.goal } : {}),
        metric: values.metric,
        threshold: /^\d{1,15}$/.test(values.threshold) ? Number(values.threshold) : values.threshold,
        period: values.period,
        amount: minor(values.amount, offer.currency),
      });
      await this.bonuses.create(me.actor, offer.id, dto);
    });
    if (!problem) return this.views.redirect(request, reply, '/portal/advertiser/programs?notice=created');
    return this.page(me, request, reply, values, problem, 422);
  }

  private async page(me: PortalContext, request: PortalRequest, reply: FastifyReply, values: Record<string, string>, problem: unknown, status: number) {
    const offers = await ownOffers(this.offers, me.actor);
    const programs = [];
    for (const offer of offers) {
      const goals = [];
      for (const goal of offer.goals ?? []) goals.push({ key: goal.key, payout: goal.payout, recurring: goal.recurring, preview: await tierPreview(goal.payout, offer.currency) });
      programs.push({ offer, goals, bonuses: await this.bonuses.list(me.actor, offer.id) });
    }
    const funding = await this.funding.view(me.actor, me.actor.id);
    const awards = await this.bonuses.awards(me.actor, { limit: 50 });
    return this.views.page(request, reply, me, 'programs/advertiser', { title: 'Programs', programs, funding, awards, values, problem }, status);
  }
}

/** The affiliate's tiers (this month's volume, the tier reached, what the next one needs) and bonuses. */
@PortalController('portal/affiliate/programs', 'affiliate')
export class AffiliateProgramsController {
  constructor(
    private readonly views: PortalViews,
    private readonly offers: OffersService,
    private readonly bonuses: BonusesService,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {}

  @Get()
  async show(@Me() me: PortalContext, @Req() request: PortalRequest, @Res() reply: FastifyReply) {
    const tiers = [];
    const programs = [];
    for (const offer of await ownOffers(this.offers, me.actor)) {
      for (const goal of offer.goals ?? []) {
        const own = goal.overrides?.find((o) => o.affiliateId === me.actor.id)?.payout ?? goal.payout;
        if (own.type !== 'tiered') continue;
        const rule = own as TieredRule;
        const counted = await conversionsRepository.monthlyVolume(this.dataSource.manager, {
          offerId: offer.id,
          goalKey: goal.key,
          affiliateId: me.actor.id,
          at: new Date(),
          timezone: offer.timezone,
        });
        const volume = rule.basis === 'saleAmount' ? counted.saleAmount : counted.conversions;
        const index = tierIndex(rule.tiers, volume);
        const next = rule.tiers[index + 1];
        tiers.push({ offer, goal: goal.key, rule, volume, tier: index + 1, next: next ? { number: index + 2, from: next.from, missing: next.from - volume } : null });
      }
      const bonuses = await this.bonuses.list(me.actor, offer.id);
      if (bonuses.length) programs.push({ offer, bonuses });
    }
    const awards = await this.bonuses.awards(me.actor, { limit: 50 });
    return this.views.page(request, reply, me, 'programs/affiliate', { title: 'Tiers and bonuses', tiers, programs, awards });
  }
}

/** Finance (and admin): prepaid advertisers' funds, and recording a top-up. */
@PortalController('portal/finance/funding', 'finance', 'admin')
export class FundingPortalController {
  constructor(
    private readonly views: PortalViews,
    private readonly accounts: PrincipalsService,
    private readonly funding: FundingService,
  ) {}

  @Get()
  show(@Me() me: PortalContext, @Req() request: PortalRequest, @Res() reply: FastifyReply, @Query() query: Record<string, unknown>) {
    return this.page(me, request, reply, typeof query.notice === 'string' ? {} : {}, null, 200);
  }

  @Post(':advertiserId')
  async topUp(@Me() me: PortalContext, @Req() request: PortalRequest, @Res() reply: FastifyReply, @Param('advertiserId', ParseIdPipe) advertiserId: string, @Body() body: Form) {
    const values = { advertiserId, currency: str(body, 'currency'), amount: str(body, 'amount'), reference: str(body, 'reference') };
    const problem = await tryForm(async () => {
      const dto = await toDto(CreateFundingDto, { amount: minor(values.amount, values.currency || 'USD'), currency: values.currency, reference: values.reference });
      await this.funding.topUp(me.actor, advertiserId, dto);
    });
    if (!problem) return this.views.redirect(request, reply, '/portal/finance/funding?notice=created');
    return this.page(me, request, reply, values, problem, 422);
  }

  private async page(me: PortalContext, request: PortalRequest, reply: FastifyReply, values: Record<string, string>, problem: unknown, status: number) {
    const advertisers = (await this.accounts.listPrincipals('advertiser')).filter((a) => a.billingMode === 'prepaid');
    const rows = [];
    for (const a of advertisers) rows.push({ advertiser: a, funding: await this.funding.view(me.actor, a.id) });
    return this.views.page(request, reply, me, 'programs/funding', { title: 'Prepaid funds', rows, values, problem }, status);
  }
}
