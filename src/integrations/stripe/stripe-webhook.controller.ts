import { Controller, Headers, HttpCode, Post, Req } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { Public } from '../../common/auth';
import { AppError } from '../../common/errors';
import { StripeClient, WebhookEndpoint } from './stripe.client';
import { StripeEventsService } from './stripe-events.service';

@ApiExcludeController(false)
@Public()
@Controller('webhooks')
export class StripeWebhookController {
  constructor(
    private readonly stripe: StripeClient,
    private readonly events: StripeEventsService,
  ) {}

  /** The platform's endpoint: verifies the signature on the raw body, stores the event once, answers 200; a job applies it. */
  @Post('stripe')
  @HttpCode(200)
  receive(@Req() request: FastifyRequest & { rawBody?: Buffer }, @Headers('stripe-signature') signature?: string) {
    return this.receiveAt('platform', request, signature);
  }

  /**
   * The Connect endpoint: Stripe sends connected accounts' events (their `account.updated`) to an
   * endpoint registered for Connect, signed with that endpoint's own secret.
   */
  @Post('stripe/connect')
  @HttpCode(200)
  receiveConnect(@Req() request: FastifyRequest & { rawBody?: Buffer }, @Headers('stripe-signature') signature?: string) {
    return this.receiveAt('connect', request, signature);
  }

  private async receiveAt(endpoint: WebhookEndpoint, request: FastifyRequest & { rawBody?: Buffer }, signature: string | undefined) {
    if (!request.rawBody) throw new AppError('bad_request', 400, 'A JSON body is required');
    const event = this.stripe.constructEvent(request.rawBody, signature, endpoint);
    const isNew = await this.events.receive(event);
    return { received: true, duplicate: !isNew };
  }
}
