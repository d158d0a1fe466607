/**
 * Webhook delivery: signs each event the way Stripe does (`Stripe-Signature:
 * t=…,v1=HMAC-SHA256(secret, "t.payload")`, via the SDK's own helper) and
 * POSTs it to the configured URL. Deliveries run one at a time in emission
 * order; failures are recorded, never thrown, and not retried automatically
 * (use `redeliver`).
 */
import * as http from 'node:http';
import * as https from 'node:https';
import Stripe from 'stripe';
import type { EmulatorEvent } from './store';

export interface WebhookDelivery {
  eventId: string;
  type: string;
  url: string;
  /** 1 for the first delivery of an event, then 2, 3, … for redeliveries. */
  attempt: number;
  /** HTTP status of the receiver's answer, or null when the request failed. */
  status: number | null;
  ok: boolean;
  error: string | null;
  /** Unix seconds used in the signature. */
  timestamp: number;
  durationMs: number;
}

export interface DeliverOptions {
  /** Signature timestamp override (unix seconds), e.g. an old one to test the tolerance window. */
  timestamp?: number;
}

const DELIVERY_TIMEOUT_MS = 10_000;

export class WebhookDispatcher {
  private readonly log: WebhookDelivery[] = [];
  private readonly inFlight = new Set<http.ClientRequest>();
  private chain: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(
    private url: string | undefined,
    readonly secret: string,
    private enabledEvents: readonly string[] = ['*'],
  ) {}

  /** The event types sent, as a Stripe webhook endpoint's `enabled_events` (`*`: all). */
  setEnabledEvents(types: readonly string[]): void {
    this.enabledEvents = [...types];
  }

  get webhookUrl(): string | undefined {
    return this.url;
  }

  setUrl(url: string | undefined): void {
    this.url = url;
  }

  /** Whether an event of this type would be sent (a URL is set and the type is enabled). */
  wants(type: string): boolean {
    return this.url !== undefined && (this.enabledEvents.includes('*') || this.enabledEvents.includes(type));
  }

  deliveries(): WebhookDelivery[] {
    return this.log.map((d) => ({ ...d }));
  }

  /**
   * Queues a delivery of `event`. Resolves with the record once it is done,
   * or with null when nothing was sent (no URL, type not enabled, closed).
   */
  enqueue(event: EmulatorEvent, options: DeliverOptions = {}): Promise<WebhookDelivery | null> {
    const url = this.url;
    if (this.closed || url === undefined || !this.wants(event.type)) return Promise.resolve(null);
    const run = this.chain.then(() => this.deliver(url, event, options));
    this.chain = run;
    return run;
  }

  /** Resolves once every queued delivery (including ones queued meanwhile) has finished. */
  async flush(): Promise<void> {
    let current: Promise<unknown>;
    do {
      current = this.chain;
      await current;
    } while (current !== this.chain);
  }

  /** Fails in-flight deliveries and stops sending until `resume()`. */
  abort(): void {
    this.closed = true;
    for (const req of this.inFlight) req.destroy(new Error('emulator stopped'));
  }

  resume(): void {
    this.closed = false;
  }

  private async deliver(url: string, event: EmulatorEvent, options: DeliverOptions): Promise<WebhookDelivery> {
    // Stripe sends pretty-printed JSON: verify against the raw body, not a re-serialisation.
    const payload = JSON.stringify(event, null, 2);
    const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
    const signature = Stripe.webhooks.generateTestHeaderString({ payload, secret: this.secret, timestamp });
    const started = Date.now();
    const attempt = this.log.filter((d) => d.eventId === event.id).length + 1;
    let status: number | null = null;
    let error: string | null = null;
    if (this.closed) {
      error = 'emulator stopped';
    } else {
      try {
        status = await this.post(url, payload, signature);
      } catch (e) {
        error = e instanceof Error ? e.message : String(e);
      }
    }
    const record: WebhookDelivery = {
      eventId: event.id,
      type: event.type,
      url,
      attempt,
      status,
      ok: status !== null && status >= 200 && status < 300,
      error,
      timestamp,
      durationMs: Date.now() - started,
    };
    this.log.push(record);
    return { ...record };
  }

  private post(url: string, payload: string, signature: string): Promise<number> {
    return new Promise((resolve, reject) => {
      const target = new URL(url);
      const client = target.protocol === 'https:' ? https : http;
      const req = client.request(
        target,
        {
          method: 'POST',
          agent: false,
          timeout: DELIVERY_TIMEOUT_MS,
          headers: {
            'Content-Type': 'application/json; charset=utf-8',
            'Content-Length': Buffer.byteLength(payload),
            'Stripe-Signature': signature,
            'User-Agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
            'Cache-Control': 'no-cache',
          },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
          res.on('error', reject);
        },
      );
      this.inFlight.add(req);
      req.on('close', () => this.inFlight.delete(req));
      req.on('timeout', () => req.destroy(new Error(`webhook delivery timed out after ${DELIVERY_TIMEOUT_MS}ms`)));
      req.on('error', reject);
      req.end(payload);
    });
  }
}
