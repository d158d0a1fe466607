import { Body, Get, Param, Post, Query, Req, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { ParseIdPipe } from '../../../common/http/parse-id.pipe';
import { PutStripeIntegrationDto } from '../../stripe-conversions/dto/stripe-integration.dto';
import { STRIPE_CONVERSION_EVENTS, StripeConversionsService } from '../../stripe-conversions/stripe-conversions.service';
import { OffersService } from '../../offers/offers.service';
import { CreateWebhookEndpointDto } from '../../webhooks/dto/webhooks.dto';
import { WEBHOOK_EVENTS_BY_ROLE } from '../../webhooks/webhook.entities';
import { WebhooksService } from '../../webhooks/webhooks.service';
import { NotFoundError } from '../../../common/errors';
import { str, toDto, tryForm } from '../web/forms';
import { Me, PortalContext, PortalRequest } from '../web/portal-request';
import { PortalController } from '../web/portal-controller';
import { PortalViews } from '../web/portal-views';

type Form = Record<string, unknown>;

/** Checkbox values: one string, several, or none. */
const many = (value: unknown): string[] => (Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : typeof value === 'string' ? [value] : []);

/** Outgoing webhooks for advertisers and affiliates: their endpoints, the secret once, each endpoint's delivery log. */
@PortalController('portal/webhooks', 'advertiser', 'affiliate')
export class WebhooksPortalController {
  constructor(
    private readonly views: PortalViews,
    private readonly webhooks: WebhooksService,
  ) {}

  @Get()
  list(@Me() me: PortalContext, @Req() request: PortalRequest, @Res() reply: FastifyReply) {
    return this.page(me, request, reply, { events: [] });
  }

  @Post()
  async create(@Me() me: PortalContext, @Req() request: PortalRequest, @Res() reply: FastifyReply, @Body() body: Form) {
    const values = { url: str(body, 'url'), events: many(body.events) };
    let created: Awaited<ReturnType<WebhooksService['create']>> | null = null;
    const problem = await tryForm(async () => (created = await this.webhooks.create(me.actor, await toDto(CreateWebhookEndpointDto, values))));
    if (problem || !created) return this.page(me, request, reply, values, problem, 422);
    return this.views.page(request, reply, me, 'connections/webhook-created', { title: 'Webhook endpoint created', endpoint: created }, 201);
  }

  @Post(':id/delete')
  async remove(@Me() me: PortalContext, @Req() request: PortalRequest, @Res() reply: FastifyReply, @Param('id', ParseIdPipe) id: string) {
    await this.webhooks.remove(me.actor, id);
    return this.views.redirect(request, reply, '/portal/webhooks?notice=saved');
  }

  @Get(':id')
  async deliveries(@Me() me: PortalContext, @Req() request: PortalRequest, @Res() reply: FastifyReply, @Param('id', ParseIdPipe) id: string, @Query() query: Form) {
    const cursor = typeof query.cursor === 'string' ? query.cursor : undefined;
    const endpoint = await this.webhooks.get(me.actor, id);
    const page = await this.webhooks.deliveries(me.actor, id, { cursor, limit: 50 });
    return this.views.page(request, reply, me, 'connections/webhook-deliveries', { title: 'Webhook deliveries', endpoint, page, cursor });
  }

  private async page(me: PortalContext, request: PortalRequest, reply: FastifyReply, values: { url?: string; events: string[] }, problem?: unknown, status = 200) {
    const endpoints = await this.webhooks.list(me.actor);
    const types = WEBHOOK_EVENTS_BY_ROLE[me.role as 'advertiser' | 'affiliate'];
    return this.views.page(request, reply, me, 'connections/webhooks', { title: 'Webhooks', endpoints, types, values, problem }, status);
  }
}

/** The advertiser's Stripe connection: the endpoint to paste in Stripe, and the offer, goal and secret its sales use. */
@PortalController('portal/advertiser/stripe', 'advertiser')
export class StripeConnectionPortalController {
  constructor(
    private readonly views: PortalViews,
    private readonly stripe: StripeConversionsService,
    private readonly offers: OffersService,
  ) {}

  @Get()
  show(@Me() me: PortalContext, @Req() request: PortalRequest, @Res() reply: FastifyReply) {
    return this.page(me, request, reply, {});
  }

  @Post()
  async save(@Me() me: PortalContext, @Req() request: PortalRequest, @Res() reply: FastifyReply, @Body() body: Form) {
    const values = { offerId: str(body, 'offerId'), goal: str(body, 'goal'), webhookSecret: str(body, 'webhookSecret'), apiKey: str(body, 'apiKey') || undefined };
    const problem = await tryForm(async () => this.stripe.connect(me.actor, await toDto(PutStripeIntegrationDto, values)));
    if (!problem) return this.views.redirect(request, reply, '/portal/advertiser/stripe?notice=saved');
    return this.page(me, request, reply, values, problem, 422);
  }

  private async page(me: PortalContext, request: PortalRequest, reply: FastifyReply, values: Form, problem?: unknown, status = 200) {
    const current = await this.stripe.get(me.principalId).catch((error) => {
      if (error instanceof NotFoundError) return null;
      throw error;
    });
    const offers = await this.offers.list(me.actor, { limit: 200 });
    return this.views.page(
      request,
      reply,
      me,
      'connections/stripe',
      {
        title: 'Stripe',
        endpointUrl: this.stripe.endpointUrl(me.principalId),
        events: STRIPE_CONVERSION_EVENTS,
        current,
        offers: offers.data.map(({ offer }) => ({ value: offer.id, label: offer.name })),
        values: { offerId: current?.offerId, goal: current?.goalKey ?? 'sale', ...values },
        problem,
      },
      status,
    );
  }
}
