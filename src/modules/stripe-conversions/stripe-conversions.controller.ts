import { Body, Controller, Get, Headers, HttpCode, Param, Post, Put, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { AuthPrincipal, CurrentPrincipal, Public, Roles } from '../../common/auth';
import { ParseIdPipe } from '../../common/http/parse-id.pipe';
import { PutStripeIntegrationDto, StripeIntegrationView } from './dto/stripe-integration.dto';
import { StripeIntegration } from './stripe-integration.entities';
import { STRIPE_CONVERSION_EVENTS, StripeConversionsService, StripeReceipt } from './stripe-conversions.service';

@ApiTags('integrations')
@ApiBearerAuth()
@Roles('advertiser')
@Controller('v1/integrations')
export class StripeIntegrationController {
  constructor(private readonly stripe: StripeConversionsService) {}

  @Put('stripe')
  @ApiOperation({ summary: 'Connect your Stripe account: its sales and refunds become conversions; answers the endpoint URL to paste in Stripe' })
  @ApiOkResponse({ type: StripeIntegrationView })
  async put(@CurrentPrincipal() actor: AuthPrincipal, @Body() dto: PutStripeIntegrationDto): Promise<StripeIntegrationView> {
    return this.view(await this.stripe.connect(actor, dto));
  }

  @Get('stripe')
  @ApiOkResponse({ type: StripeIntegrationView })
  async get(@CurrentPrincipal() actor: AuthPrincipal): Promise<StripeIntegrationView> {
    return this.view(await this.stripe.get(actor.id));
  }

  private view(integration: StripeIntegration): StripeIntegrationView {
    return {
      endpointUrl: this.stripe.endpointUrl(integration.advertiserId),
      offerId: integration.offerId,
      goal: integration.goalKey,
      events: [...STRIPE_CONVERSION_EVENTS],
      promotionCodesReadable: integration.apiKey !== null,
      updatedAt: integration.updatedAt.toISOString(),
    };
  }
}

/** Where an advertiser's own Stripe account posts its events: signed with that advertiser's secret. */
@Public()
@Controller('webhooks/advertisers')
export class AdvertiserStripeWebhookController {
  constructor(private readonly stripe: StripeConversionsService) {}

  @Post(':advertiserId/stripe')
  @HttpCode(200)
  receive(
    @Param('advertiserId', ParseIdPipe) advertiserId: string,
    @Req() request: FastifyRequest & { rawBody?: Buffer },
    @Headers('stripe-signature') signature?: string,
  ): Promise<StripeReceipt> {
    return this.stripe.receive(advertiserId, request.rawBody, signature);
  }
}
