/**
 * A local Stripe API emulator that the real `stripe` SDK talks to:
 *
 *   const emulator = new StripeEmulator({ webhookUrl, webhookSecret });
 *   const { port } = await emulator.start();
 *   const stripe = new Stripe('sk_test_x', { host: '127.0.0.1', port, protocol: 'http' });
 *
 * The request pipeline mirrors Stripe's: authentication, edge faults,
 * idempotency (per API key: same key + same parameters replays the first
 * answer, different parameters → 400 idempotency_error, still running → 409),
 * execution, response. Resources live in store.ts, routes in routes.ts,
 * fault kinds in faults.ts, webhook delivery in webhooks.ts.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import Stripe from 'stripe';
import { EDGE_FAULTS, FaultSet, edgeFaultError, type ActiveFault, type FaultKind, type FaultSpec } from './faults';
import { ApiError, Params, canonicalJson, decodeForm, errors, invalidRequest, parseJsonBody, readBody, sendJson, type FormObject, type Router } from './http';
import { InvoiceAdjustments, type CreditNote } from './billing';
import { MerchantSales, type CheckoutSession, type Refund } from './merchant';
import { buildApiRouter, buildControlRouter, type ApiHandler, type ControlHandler } from './routes';
import {
  StripeStore,
  insufficientFundsError,
  newId,
  type Account,
  type Customer,
  type EmulatorEvent,
  type Invoice,
  type InvoiceItem,
  type Transfer,
  type TransferReversal,
} from './store';
import { WebhookDispatcher, type DeliverOptions, type WebhookDelivery } from './webhooks';

export type { ActiveFault, FaultKind, FaultSpec } from './faults';
export type { CreditNote } from './billing';
export type { CheckoutSession, Charge, PromotionCode, Refund, Subscription } from './merchant';
export type { Account, Customer, EmulatorEvent, Invoice, InvoiceItem, Transfer, TransferReversal } from './store';
export type { WebhookDelivery } from './webhooks';

export interface StripeEmulatorOptions {
  /** Where events are POSTed; without it events are only recorded. */
  webhookUrl?: string;
  /** Signing secret (default `whsec_emulator`). */
  webhookSecret?: string;
  /**
   * A Connect endpoint, as registered in Stripe's dashboard for events on connected accounts
   * (`event.account` set, e.g. their `account.updated`): with a URL, those events go there,
   * signed with this endpoint's own secret (default `whsec_emulator_connect`); without one they
   * go to `webhookUrl` like the platform's own.
   */
  connectWebhookUrl?: string;
  connectWebhookSecret?: string;
  /** When set, the only accepted API key; otherwise any `sk_test_…` or restricted `rk_test_…` key. */
  apiKey?: string;
  /** Event types delivered to the webhook URL (default `['*']`); all events are recorded regardless. */
  enabledEvents?: string[];
  /**
   * Stripe's basic rate limiter, off unless set (see `setRateLimit`): at most this many read
   * (GET) and this many write requests per second, each kind its own token bucket; a request
   * over it gets Stripe's 429 `rate_limit` (no `Retry-After`, no `Stripe-Should-Retry`) and is
   * not acted on. Stripe's live mode allows 100 of each, its test mode 25.
   */
  rateLimitPerSecond?: number;
}

export interface RequestLogEntry {
  requestId: string;
  method: string;
  path: string;
  idempotencyKey: string | null;
  /** Status answered, or null when no answer was sent (timeout / reset_after_commit). */
  status: number | null;
  /** True when the answer was an idempotent replay. */
  replayed: boolean;
  faults: FaultKind[];
  at: number;
}

/** A summary of everything, for debugging and the control API. */
export interface EmulatorState {
  accounts: Account[];
  transfers: Transfer[];
  customers: Customer[];
  invoiceItems: InvoiceItem[];
  invoices: Invoice[];
  events: EmulatorEvent[];
  balance: Record<string, number>;
  faults: ActiveFault[];
  webhookUrl: string | null;
  webhookDeliveries: WebhookDelivery[];
  requestLog: RequestLogEntry[];
}

interface StoredResponse {
  status: number;
  body: unknown;
  headers: Record<string, string>;
}

interface IdempotencyEntry {
  fingerprint: string;
  requestId: string;
  /** Undefined while the first request is still executing. */
  response?: StoredResponse;
}

interface ApiRequest {
  req: http.IncomingMessage;
  res: http.ServerResponse;
  requestId: string;
  method: string;
  path: string;
  query: string;
  body: string;
}

const DEFAULT_WEBHOOK_SECRET = 'whsec_emulator';
const DEFAULT_CONNECT_WEBHOOK_SECRET = 'whsec_emulator_connect';
const MAX_IDEMPOTENCY_KEY_LENGTH = 255;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

export class StripeEmulator {
  readonly webhookSecret: string;
  private readonly store = new StripeStore(Stripe.API_VERSION);
  private readonly adjustments = new InvoiceAdjustments(this.store);
  /** The account's own sales (an advertiser's Stripe): sessions, subscriptions, charges, refunds. */
  readonly sales = new MerchantSales(this.store);
  private readonly webhooks: WebhookDispatcher;
  private readonly connectWebhooks: WebhookDispatcher;
  private readonly faultSet = new FaultSet();
  private readonly idempotency = new Map<string, IdempotencyEntry>();
  private readonly log: RequestLogEntry[] = [];
  private readonly held = new Set<http.ServerResponse>();
  private readonly api: Router<ApiHandler>;
  private readonly control: Router<ControlHandler>;
  private server: http.Server | undefined;
  private baseUrl: string | undefined;
  private rateLimit: { read: TokenBucket; write: TokenBucket } | null = null;
  private inFlight = 0;
  private peakInFlight = 0;

  constructor(private readonly options: StripeEmulatorOptions = {}) {
    this.webhookSecret = options.webhookSecret ?? DEFAULT_WEBHOOK_SECRET;
    this.webhooks = new WebhookDispatcher(options.webhookUrl, this.webhookSecret, options.enabledEvents);
    this.connectWebhooks = new WebhookDispatcher(options.connectWebhookUrl, options.connectWebhookSecret ?? DEFAULT_CONNECT_WEBHOOK_SECRET, options.enabledEvents);
    this.store.onEvent = (event) => {
      const dispatcher = this.dispatcherFor(event);
      event.pending_webhooks = dispatcher.wants(event.type) ? 1 : 0;
      void dispatcher.enqueue(event);
    };
    this.api = buildApiRouter(this.store, this.adjustments, this.sales);
    this.control = buildControlRouter(this);
    if (options.rateLimitPerSecond) this.setRateLimit(options.rateLimitPerSecond);
  }

  /** Turns Stripe's basic rate limiter on at `perSecond` reads and writes per second each, or off (null). */
  setRateLimit(perSecond: number | null): void {
    if (perSecond !== null && !(perSecond > 0)) throw new Error(`rate limit must be a positive number of requests per second, got ${perSecond}`);
    this.rateLimit = perSecond === null ? null : { read: new TokenBucket(perSecond), write: new TokenBucket(perSecond) };
  }

  /** The most API requests in progress at once since the emulator started or `resetInFlightPeak`. */
  inFlightPeak(): number {
    return this.peakInFlight;
  }

  resetInFlightPeak(): void {
    this.peakInFlight = this.inFlight;
  }

  // -- lifecycle --------------------------------------------------------------

  /** Listens on 127.0.0.1 (`port` 0 picks a free one). State survives stop/start. */
  async start(port = 0): Promise<{ port: number; url: string }> {
    if (this.server) throw new Error('StripeEmulator already started');
    const server = http.createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        if (res.headersSent) res.destroy();
        else sendJson(res, 500, { error: { type: 'api_error', message: `emulator bug: ${String(error)}` } });
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    const actualPort = (server.address() as AddressInfo).port;
    this.server = server;
    this.baseUrl = `http://127.0.0.1:${actualPort}`;
    this.store.baseUrl = this.baseUrl;
    this.webhooks.resume();
    this.connectWebhooks.resume();
    return { port: actualPort, url: this.baseUrl };
  }

  /** Closes every connection (held `timeout` requests included) and aborts webhook deliveries. */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    this.webhooks.abort();
    this.connectWebhooks.abort();
    for (const res of this.held) res.socket?.destroy();
    this.held.clear();
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  get url(): string {
    if (!this.baseUrl) throw new Error('StripeEmulator not started');
    return this.baseUrl;
  }

  get port(): number {
    return Number(new URL(this.url).port);
  }

  // -- inspection -------------------------------------------------------------

  transfers(): Transfer[] {
    return this.store.allTransfers();
  }
  accounts(): Account[] {
    return structuredClone(this.store.accounts.all());
  }
  customers(): Customer[] {
    return structuredClone(this.store.customers.all());
  }
  invoiceItems(): InvoiceItem[] {
    return structuredClone(this.store.invoiceItems.all());
  }
  invoices(): Invoice[] {
    return this.store.allInvoices();
  }
  events(): EmulatorEvent[] {
    return structuredClone(this.store.events.all());
  }
  requestLog(): RequestLogEntry[] {
    return this.log.map((entry) => ({ ...entry, faults: [...entry.faults] }));
  }
  webhookDeliveries(): WebhookDelivery[] {
    return [...this.webhooks.deliveries(), ...this.connectWebhooks.deliveries()];
  }
  /** Available platform balance per currency. */
  balance(): Record<string, number> {
    return Object.fromEntries(this.store.balance().available.map((b) => [b.currency, b.amount]));
  }
  faults(): ActiveFault[] {
    return this.faultSet.list();
  }
  state(): EmulatorState {
    return {
      accounts: this.accounts(),
      transfers: this.transfers(),
      customers: this.customers(),
      invoiceItems: this.invoiceItems(),
      invoices: this.invoices(),
      events: this.events(),
      balance: this.balance(),
      faults: this.faults(),
      webhookUrl: this.webhooks.webhookUrl ?? null,
      webhookDeliveries: this.webhookDeliveries(),
      requestLog: this.requestLog(),
    };
  }

  // -- control ----------------------------------------------------------------

  setBalance(currency: string, amount: number): void {
    this.store.setBalance(currency, amount);
  }

  injectFault(fault: FaultSpec): void {
    this.faultSet.add(fault);
  }

  clearFaults(): void {
    this.faultSet.clear();
  }

  /** Simulates Stripe expiring idempotency keys (after 24 h). */
  forgetIdempotencyKeys(): void {
    this.idempotency.clear();
  }

  completeOnboarding(accountId: string): Account {
    return this.store.completeOnboarding(accountId);
  }

  /** Visits an account link the way a browser would (see the control API). */
  followAccountLink(token: string): { account: string; redirect: string | null; expired: boolean } {
    return this.store.followAccountLink(token);
  }

  /**
   * Reverses `amount` of a transfer (default: what is left), as `POST /v1/transfers/:id/reversals`
   * does; emits `transfer.reversed` with the updated transfer, partial reversals included.
   */
  reverseTransfer(transferId: string, amount?: number): TransferReversal {
    return this.store.createReversal(transferId, { amount });
  }

  /** Marks an open invoice paid (emits `invoice.paid`); `amount` below what is due forgives the rest. */
  payInvoice(invoiceId: string, amount?: number): Invoice {
    return this.store.payInvoice(invoiceId, amount);
  }

  /** What finance does in the Stripe dashboard: void an invoice (emits `invoice.voided`). */
  voidInvoice(invoiceId: string): Invoice {
    return this.adjustments.voidInvoice(invoiceId);
  }

  /** Marks an open invoice uncollectible (emits `invoice.marked_uncollectible`). */
  markInvoiceUncollectible(invoiceId: string): Invoice {
    return this.adjustments.markUncollectible(invoiceId);
  }

  /** The customer pays a Checkout Session: `checkout.session.completed` (and a subscription's first paid invoice). */
  completeCheckoutSession(id: string): CheckoutSession {
    return this.store.withRequest({ id: newId('req'), idempotency_key: null }, () => this.sales.completeSession(id));
  }

  /** A subscription's next period is paid: `invoice.paid` with `billing_reason: subscription_cycle`. */
  renewSubscription(id: string): Invoice {
    return this.sales.renewSubscription(id) as unknown as Invoice;
  }

  refund(input: { charge?: string; payment_intent?: string; amount?: number }): Refund {
    return this.sales.refund(input);
  }

  creditNotes(): CreditNote[] {
    return structuredClone(this.adjustments.creditNotes.all());
  }

  /** Records an event and queues its delivery; `await flushWebhooks()` to wait for it. */
  sendEvent(type: string, object: unknown, options: { account?: string } = {}): EmulatorEvent {
    return this.store.emit(type, object, options);
  }

  /** The platform endpoint's URL and, when given, the event types it is sent (`enabled_events`; default all). */
  setWebhookUrl(url: string | undefined, enabledEvents?: readonly string[]): void {
    this.webhooks.setUrl(url);
    if (enabledEvents) this.webhooks.setEnabledEvents(enabledEvents);
  }

  /** The Connect endpoint's URL (events on connected accounts); undefined sends them to the platform's. */
  setConnectWebhookUrl(url: string | undefined): void {
    this.connectWebhooks.setUrl(url);
  }

  /** Delivers an already emitted event again (same id and payload, fresh signature). */
  redeliver(eventId: string, options: DeliverOptions = {}): Promise<WebhookDelivery | null> {
    const event = this.store.events.get(eventId);
    return this.dispatcherFor(event).enqueue(event, options);
  }

  /** Resolves once every pending webhook delivery has finished (failures are recorded). */
  async flushWebhooks(): Promise<void> {
    await Promise.all([this.webhooks.flush(), this.connectWebhooks.flush()]);
  }

  /** Events on a connected account go to the Connect endpoint when one is registered, as on Stripe. */
  private dispatcherFor(event: EmulatorEvent): WebhookDispatcher {
    return event.account && this.connectWebhooks.webhookUrl !== undefined ? this.connectWebhooks : this.webhooks;
  }

  // -- request pipeline ---------------------------------------------------------

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const requestId = newId('req', 14);
    res.setHeader('Request-Id', requestId);
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const method = (req.method ?? 'GET').toUpperCase();
    const body = await readBody(req);
    const request = { req, res, requestId, method, path: url.pathname, query: url.search.slice(1), body };
    if (url.pathname.startsWith('/__emulator/')) return this.handleControl(request);
    return this.handleApi(request);
  }

  private async handleApi({ req, res, requestId, method, path, query, body }: ApiRequest): Promise<void> {
    const idempotencyKey = method === 'POST' ? (header(req, 'idempotency-key') ?? null) : null;
    const entry: RequestLogEntry = {
      requestId,
      method,
      path,
      idempotencyKey,
      status: null,
      replayed: false,
      faults: [],
      at: Date.now(),
    };
    this.log.push(entry);
    this.peakInFlight = Math.max(this.peakInFlight, ++this.inFlight);
    res.once('close', () => this.inFlight--);
    res.setHeader('Stripe-Version', header(req, 'stripe-version') ?? Stripe.API_VERSION);
    if (idempotencyKey) res.setHeader('Idempotency-Key', idempotencyKey);
    const respond = (response: StoredResponse) => {
      entry.status = response.status;
      sendJson(res, response.status, response.body, response.headers);
    };
    const fail = (error: ApiError) => respond(errorResponse(error));
    const takeFault = (kinds: readonly FaultKind[]) => {
      const fault = this.faultSet.take(method, path, kinds);
      if (fault) entry.faults.push(fault.kind);
      return fault;
    };

    let apiKey: string;
    try {
      apiKey = this.authenticate(req);
    } catch (error) {
      return fail(error as ApiError);
    }

    if (this.rateLimit && !(method === 'GET' ? this.rateLimit.read : this.rateLimit.write).take()) {
      entry.faults.push('rate_limit');
      return fail(edgeFaultError('rate_limit'));
    }

    const edge = takeFault(EDGE_FAULTS);
    if (edge?.kind === 'timeout') {
      this.held.add(res);
      res.on('close', () => this.held.delete(res));
      return;
    }
    if (edge) return fail(edgeFaultError(edge.kind));

    const params = decodeForm(method === 'POST' ? body : query);
    // Keys are scoped per API key; Stripe compares parameters, not their order.
    const slot = idempotencyKey ? `${apiKey}\u0000${idempotencyKey}` : undefined;
    const fingerprint = canonicalJson({ method, path, params });
    if (slot !== undefined) {
      const claimed = this.claimIdempotencyKey(slot, idempotencyKey!, fingerprint, requestId);
      if (claimed instanceof ApiError) return fail(claimed);
      if (claimed) {
        entry.replayed = true;
        return this.finish(res, entry, takeFault, () =>
          respond({
            ...claimed.response,
            headers: { ...claimed.response.headers, 'Idempotent-Replayed': 'true', 'Original-Request': claimed.requestId },
          }),
        );
      }
    }

    const { stored, ...response } = await this.execute({ method, path, params, requestId, idempotencyKey, takeFault });
    if (slot !== undefined) {
      if (stored) this.idempotency.set(slot, { fingerprint, requestId, response });
      else this.idempotency.delete(slot);
    }
    return this.finish(res, entry, takeFault, () => respond(response));
  }

  /**
   * Undefined: the key is now claimed by this request. An entry with a
   * response: replay it. An ApiError: parameters differ (400) or the first
   * request is still running (409).
   */
  private claimIdempotencyKey(slot: string, key: string, fingerprint: string, requestId: string): (IdempotencyEntry & { response: StoredResponse }) | ApiError | undefined {
    if (key.length > MAX_IDEMPOTENCY_KEY_LENGTH) {
      return errors.invalidValue('Idempotency-Key', `Idempotency keys can be at most ${MAX_IDEMPOTENCY_KEY_LENGTH} characters long.`);
    }
    const existing = this.idempotency.get(slot);
    if (!existing) {
      this.idempotency.set(slot, { fingerprint, requestId });
      return undefined;
    }
    if (existing.fingerprint !== fingerprint) {
      return new ApiError(400, {
        type: 'idempotency_error',
        message:
          `Keys for idempotent requests can only be used with the same parameters they were first used with. ` +
          `Try using a key other than '${key}' if you meant to execute a different request.`,
      });
    }
    if (!existing.response) {
      return new ApiError(409, {
        type: 'idempotency_error',
        code: 'idempotency_key_in_use',
        message:
          `There is currently another in-progress request using this Idempotency-Key (that probably means you ` +
          `submitted twice, and the other request is still going through): ${key}. Please try again later.`,
      });
    }
    return existing as IdempotencyEntry & { response: StoredResponse };
  }

  private async execute(request: {
    method: string;
    path: string;
    params: FormObject;
    requestId: string;
    idempotencyKey: string | null;
    takeFault: (kinds: readonly FaultKind[]) => ActiveFault | undefined;
  }): Promise<StoredResponse & { stored: boolean }> {
    const { method, path, requestId, idempotencyKey, takeFault } = request;
    try {
      const delay = takeFault(['delay']);
      if (delay) await sleep(delay.delayMs);
      if (takeFault(['insufficient_funds'])) throw insufficientFundsError();
      const route = this.api.match(method, path);
      if (!route) throw errors.unknownRoute(method, path);
      const params = new Params(request.params);
      const body = this.store.withRequest({ id: requestId, idempotency_key: idempotencyKey }, () => route.handler({ params, path: route.pathParams }));
      return { status: 200, body, headers: {}, stored: true };
    } catch (error) {
      if (error instanceof ApiError) return { ...errorResponse(error), stored: error.executed };
      return {
        ...errorResponse(new ApiError(500, { type: 'api_error', message: `emulator bug: ${String(error)}` })),
        stored: false,
      };
    }
  }

  /** Sends the answer, unless a `reset_after_commit` fault drops the connection instead. */
  private finish(res: http.ServerResponse, entry: RequestLogEntry, takeFault: (kinds: readonly FaultKind[]) => ActiveFault | undefined, send: () => void): void {
    if (takeFault(['reset_after_commit'])) {
      entry.status = null;
      res.socket?.destroy();
      return;
    }
    send();
  }

  private authenticate(req: http.IncomingMessage): string {
    const authorization = header(req, 'authorization') ?? '';
    let key = '';
    if (/^bearer /i.test(authorization)) key = authorization.slice(7).trim();
    else if (/^basic /i.test(authorization)) key = Buffer.from(authorization.slice(6), 'base64').toString().split(':')[0];
    if (!key) {
      throw invalidRequest(
        401,
        "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, or we can help at https://support.stripe.com/.",
      );
    }
    const valid = this.options.apiKey !== undefined ? key === this.options.apiKey : /^(sk|rk)_test_\w+$/.test(key);
    if (!valid) throw invalidRequest(401, `Invalid API Key provided: ${maskKey(key)}`);
    return key;
  }

  private async handleControl({ res, method, path, body }: ApiRequest): Promise<void> {
    try {
      const route = this.control.match(method, path);
      if (!route) throw errors.unknownRoute(method, path);
      let json: Record<string, unknown>;
      try {
        json = parseJsonBody(body);
      } catch (error) {
        throw invalidRequest(400, `invalid JSON body: ${(error as Error).message}`);
      }
      const result = await route.handler({ body: json, path: route.pathParams });
      if (result.redirect) {
        res.writeHead(302, { Location: result.redirect });
        res.end();
        return;
      }
      sendJson(res, result.status ?? 200, result.body ?? { ok: true });
    } catch (error) {
      if (error instanceof ApiError) return sendJson(res, error.status, error.toJSON(), error.headers);
      sendJson(res, 500, { error: { type: 'api_error', message: String(error) } });
    }
  }
}

function errorResponse(error: ApiError): StoredResponse {
  return { status: error.status, body: error.toJSON(), headers: error.headers };
}

function header(req: http.IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** `sk_test_abcdef123456` → `sk_test_********3456`, like Stripe's error message. */
function maskKey(key: string): string {
  const prefix = /^[a-z]{2}_(test|live)_/.exec(key)?.[0] ?? '';
  const rest = key.slice(prefix.length);
  return prefix + '*'.repeat(Math.max(0, rest.length - 4)) + rest.slice(-4);
}

/** Stripe-style limiter: `perSecond` tokens a second, at most `perSecond` saved up (a one-second burst). */
class TokenBucket {
  private tokens: number;
  private at = Date.now();

  constructor(private readonly perSecond: number) {
    this.tokens = perSecond;
  }

  take(): boolean {
    const now = Date.now();
    this.tokens = Math.min(this.perSecond, this.tokens + ((now - this.at) / 1000) * this.perSecond);
    this.at = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
