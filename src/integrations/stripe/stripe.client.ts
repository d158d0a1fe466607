import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import Stripe from 'stripe';
import { AppError, ServiceUnavailableError } from '../../common/errors';
import { Config } from '../../config/configuration';

/** The platform's own events, or connected accounts' events (a Connect endpoint in Stripe's dashboard). */
export type WebhookEndpoint = 'platform' | 'connect';

/** The one place the Stripe SDK is configured: key, base URL (the local emulator in tests), retries. */
@Injectable()
export class StripeClient {
  private readonly logger = new Logger(StripeClient.name);
  private readonly instance: Stripe | null;
  private readonly webhookSecrets: Record<WebhookEndpoint, string | undefined>;

  private readonly options: Stripe.StripeConfig;

  constructor(config: ConfigService<Config, true>) {
    const { secretKey, apiUrl, webhookSecret, connectWebhookSecret, timeoutMs, maxNetworkRetries } = config.get('stripe', { infer: true });
    this.webhookSecrets = { platform: webhookSecret, connect: connectWebhookSecret };
    this.options = { ...hostOptions(apiUrl), maxNetworkRetries, timeout: timeoutMs, appInfo: { name: 'Afflux' } };
    this.instance = secretKey ? new Stripe(secretKey, this.options) : null;
    if (!secretKey) this.logger.warn('STRIPE_SECRET_KEY is not set: payouts and invoices answer 503 until it is');
  }

  get configured(): boolean {
    return this.instance !== null;
  }

  /** The SDK, or a clear 503 naming the missing setting. */
  get api(): Stripe {
    if (!this.instance) throw new ServiceUnavailableError('stripe_not_configured', 'Stripe is not configured: set STRIPE_SECRET_KEY');
    return this.instance;
  }

  /** The SDK with another account's key (an advertiser's own Stripe account), on the same base URL, timeout and retries. */
  forKey(apiKey: string): Stripe {
    return new Stripe(apiKey, this.options);
  }

  /** An advertiser's Stripe customer: found by metadata, or created once (the idempotency key names the advertiser). */
  async customerFor(advertiser: { id: string; name: string; email: string }): Promise<string> {
    const found = await this.api.customers.search({ query: `metadata['advertiser_id']:'${advertiser.id}'`, limit: 1 });
    if (found.data[0]) return found.data[0].id;
    const created = await this.api.customers.create(
      { name: advertiser.name, email: advertiser.email, metadata: { advertiser_id: advertiser.id } },
      { idempotencyKey: `afx-customer-${advertiser.id}` },
    );
    return created.id;
  }

  /**
   * Verifies a webhook's signature over the raw body with the secret of the endpoint it came to
   * (Stripe signs each registered endpoint with its own) and parses it.
   */
  constructEvent(rawBody: Buffer, signature: string | undefined, endpoint: WebhookEndpoint = 'platform'): Stripe.Event {
    const secret = this.webhookSecrets[endpoint];
    if (!secret) throw new ServiceUnavailableError('stripe_webhooks_not_configured', 'Stripe webhooks are not configured: set STRIPE_WEBHOOK_SECRET');
    if (!signature) throw new AppError('invalid_signature', 400, 'The Stripe-Signature header is missing');
    try {
      return Stripe.webhooks.constructEvent(rawBody, signature, secret);
    } catch {
      throw new AppError('invalid_signature', 400, 'The Stripe signature does not match this payload');
    }
  }
}

function hostOptions(apiUrl: string | undefined): Pick<Stripe.StripeConfig, 'host' | 'port' | 'protocol'> {
  if (!apiUrl) return {};
  const url = new URL(apiUrl);
  const protocol = url.protocol === 'http:' ? 'http' : 'https';
  return { host: url.hostname, port: Number(url.port || (protocol === 'http' ? 80 : 443)), protocol };
}

/**
 * Stripe refused a create request outright, so nothing was created: an invalid request or a
 * card-style decline answered with a 4xx other than 409 (a concurrent request with the same key)
 * or 429 (come back later). Anything else — network, 5xx, auth, idempotency, our own database —
 * leaves open whether Stripe acted, so the caller must retry and look before creating again.
 */
export function isDefinitiveRefusal(error: unknown): boolean {
  if (!(error instanceof Stripe.errors.StripeInvalidRequestError || error instanceof Stripe.errors.StripeCardError)) return false;
  const status = error.statusCode ?? 0;
  return status >= 400 && status < 500 && status !== 409 && status !== 429;
}

/**
 * Stripe limited the request (429: its rate or concurrency limiter, or a `lock_timeout`), so it
 * did nothing: answers the wait in ms its `Retry-After` header asks for, null when it names none
 * (the caller backs off), undefined when the error is not a 429. stripe-node retries a 429 itself
 * only when Stripe sends `Stripe-Should-Retry: true` (lock timeouts), within maxNetworkRetries.
 */
export function rateLimitedFor(error: unknown): number | null | undefined {
  if (!(error instanceof Stripe.errors.StripeError) || error.statusCode !== 429) return undefined;
  const header = (error.headers as Record<string, string | string[] | undefined> | undefined)?.['retry-after'];
  const seconds = Number(Array.isArray(header) ? header[0] : header);
  return header !== undefined && Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : null;
}
