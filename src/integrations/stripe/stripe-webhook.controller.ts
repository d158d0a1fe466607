import { Controller, Headers, HttpCode, Post, Req } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { Public } from '../../common/auth';
import { AppError } from '../../common/errors';
import { StripeClient } from './stripe.client';
import { StripeEventsService } from './stripe-events.service';

@ApiExcludeController(false)
@Public()
@Controller('webhooks')
export class StripeWebhookController {
  constructor(
    private readonly stripe: StripeClient,
    private readonly events: StripeEventsService,
  ) {}

  /** Verifies the signature on the raw body, stores the event once, answers 200; a job applies it. */
  @Post('stripe')
  @HttpCode(200)
  async receive(@Req() request: FastifyRequest & { rawBody?: Buffer }, @Headers('stripe-signature') signature?: string) {
    if (!request.rawBody) throw new AppError('bad_request', 400, 'A JSON body is required');
    const event = this.stripe.constructEvent(request.rawBody, signature);
    const isNew = await this.events.receive(event);
    return { received: true, duplicate: !isNew };
  }
}
