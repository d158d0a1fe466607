import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AuthPrincipal, CurrentPrincipal, Roles } from '../../common/auth';
import { ParseIdPipe } from '../../common/http/parse-id.pipe';
import { mapPage, Page } from '../../common/pagination';
import { CreateWebhookEndpointDto, ListWebhookDeliveriesQueryDto, WebhookDeliveryView, WebhookEndpointView } from './dto/webhooks.dto';
import { WebhookDelivery, WebhookEndpoint, WebhookEventType } from './webhook.entities';
import { WebhooksService } from './webhooks.service';

export const endpointView = (e: WebhookEndpoint, withSecret = false): WebhookEndpointView => ({
  id: e.id,
  url: e.url,
  events: e.events,
  ...(withSecret ? { secret: e.secret } : {}),
  createdAt: e.createdAt.toISOString(),
});

export const deliveryView = (d: WebhookDelivery & { eventType: WebhookEventType }): WebhookDeliveryView => ({
  id: d.id,
  eventId: d.eventId,
  eventType: d.eventType,
  attempt: d.attempt,
  statusCode: d.statusCode,
  latencyMs: d.latencyMs,
  error: d.error,
  outcome: d.outcome,
  createdAt: d.createdAt.toISOString(),
});

@ApiTags('webhooks')
@ApiBearerAuth()
@Roles('advertiser', 'affiliate')
@Controller('v1/webhook-endpoints')
export class WebhooksController {
  constructor(private readonly webhooks: WebhooksService) {}

  @Post()
  @ApiOperation({ summary: 'Register a URL for events; answers the signing secret, once' })
  @ApiCreatedResponse({ type: WebhookEndpointView })
  async create(@CurrentPrincipal() actor: AuthPrincipal, @Body() dto: CreateWebhookEndpointDto): Promise<WebhookEndpointView> {
    return endpointView(await this.webhooks.create(actor, dto), true);
  }

  @Get()
  @ApiOkResponse({ type: WebhookEndpointView, isArray: true })
  async list(@CurrentPrincipal() actor: AuthPrincipal): Promise<{ data: WebhookEndpointView[] }> {
    return { data: (await this.webhooks.list(actor)).map((e) => endpointView(e)) };
  }

  @Get(':id')
  @ApiOkResponse({ type: WebhookEndpointView })
  async get(@CurrentPrincipal() actor: AuthPrincipal, @Param('id', ParseIdPipe) id: string): Promise<WebhookEndpointView> {
    return endpointView(await this.webhooks.get(actor, id));
  }

  @Delete(':id')
  @HttpCode(204)
  async remove(@CurrentPrincipal() actor: AuthPrincipal, @Param('id', ParseIdPipe) id: string): Promise<void> {
    await this.webhooks.remove(actor, id);
  }

  @Get(':id/deliveries')
  @ApiOperation({ summary: 'Every call of this endpoint, newest first' })
  @ApiOkResponse({ type: WebhookDeliveryView, isArray: true })
  async deliveries(
    @CurrentPrincipal() actor: AuthPrincipal,
    @Param('id', ParseIdPipe) id: string,
    @Query() query: ListWebhookDeliveriesQueryDto,
  ): Promise<Page<WebhookDeliveryView>> {
    return mapPage(await this.webhooks.deliveries(actor, id, query), deliveryView);
  }
}
