/**
 * Route tables: the `/v1` endpoints the SDK calls (parameters parsed and
 * validated here, business rules in store.ts) and the `/__emulator` JSON
 * control API used by out-of-process tests and the demo.
 */
import type { StripeEmulator } from './emulator';
import { addBillingRoutes, InvoiceAdjustments } from './billing';
import { addMerchantRoutes, MerchantSales } from './merchant';
import { FAULT_KINDS, type FaultKind } from './faults';
import { Params, Router, invalidRequest } from './http';
import type { ListOptions, Patch, StripeStore } from './store';

// ---------------------------------------------------------------------------
// /v1
// ---------------------------------------------------------------------------

export interface ApiContext {
  params: Params;
  path: Record<string, string>;
}
export type ApiHandler = (ctx: ApiContext) => unknown;

/**
 * Top-level parameters each endpoint accepts, copied from the SDK's
 * `…Params` types. Anything else is rejected with `parameter_unknown`, as
 * Stripe does; declared-but-unimplemented ones are accepted and ignored.
 */
const PAGINATION = ['limit', 'starting_after', 'ending_before'];
const KNOWN = {
  accountCreate: [
    'account_token',
    'business_profile',
    'business_type',
    'capabilities',
    'company',
    'controller',
    'country',
    'default_currency',
    'documents',
    'email',
    'external_account',
    'groups',
    'individual',
    'metadata',
    'settings',
    'tos_acceptance',
    'type',
  ],
  accountUpdate: [
    'account_token',
    'business_profile',
    'business_type',
    'capabilities',
    'company',
    'default_currency',
    'documents',
    'email',
    'external_account',
    'groups',
    'individual',
    'metadata',
    'settings',
    'tos_acceptance',
  ],
  accountLinkCreate: ['account', 'type', 'collect', 'collection_options', 'refresh_url', 'return_url'],
  transferCreate: ['amount', 'currency', 'destination', 'description', 'metadata', 'source_transaction', 'source_type', 'transfer_group'],
  transferUpdate: ['description', 'metadata'],
  transferList: [...PAGINATION, 'created', 'destination', 'transfer_group'],
  reversalCreate: ['amount', 'description', 'metadata', 'refund_application_fee'],
  customerCreate: [
    'address',
    'balance',
    'business_name',
    'cash_balance',
    'description',
    'email',
    'individual_name',
    'invoice_prefix',
    'invoice_settings',
    'metadata',
    'name',
    'next_invoice_sequence',
    'payment_method',
    'phone',
    'preferred_locales',
    'shipping',
    'source',
    'tax',
    'tax_exempt',
    'tax_id_data',
    'test_clock',
    'validate',
  ],
  customerList: [...PAGINATION, 'created', 'email', 'test_clock'],
  customerSearch: ['query', 'limit', 'page'],
  invoiceItemCreate: [
    'amount',
    'currency',
    'customer',
    'customer_account',
    'description',
    'discountable',
    'discounts',
    'invoice',
    'metadata',
    'period',
    'price_data',
    'pricing',
    'quantity',
    'quantity_decimal',
    'subscription',
    'tax_behavior',
    'tax_code',
    'tax_rates',
    'unit_amount_decimal',
  ],
  invoiceItemList: [...PAGINATION, 'created', 'customer', 'customer_account', 'invoice', 'pending'],
  invoiceCreate: [
    'account_tax_ids',
    'application_fee_amount',
    'auto_advance',
    'automatic_tax',
    'automatically_finalizes_at',
    'collection_method',
    'currency',
    'custom_fields',
    'customer',
    'customer_account',
    'days_until_due',
    'default_payment_method',
    'default_source',
    'default_tax_rates',
    'description',
    'discounts',
    'due_date',
    'effective_at',
    'footer',
    'from_invoice',
    'issuer',
    'metadata',
    'number',
    'on_behalf_of',
    'payment_settings',
    'pending_invoice_items_behavior',
    'rendering',
    'shipping_cost',
    'shipping_details',
    'statement_descriptor',
    'subscription',
    'transfer_data',
  ],
  invoiceUpdate: ['auto_advance', 'days_until_due', 'description', 'due_date', 'footer', 'metadata'],
  invoiceList: [...PAGINATION, 'collection_method', 'created', 'customer', 'customer_account', 'due_date', 'status', 'subscription'],
  invoiceFinalize: ['auto_advance'],
  invoicePay: ['forgive', 'mandate', 'off_session', 'paid_out_of_band', 'payment_method', 'source'],
  eventList: [...PAGINATION, 'created', 'delivery_success', 'type', 'types'],
  none: [] as string[],
  pagination: PAGINATION,
};

function listOptions(p: Params): ListOptions {
  const limit = p.integer('limit');
  if (limit !== undefined && (limit < 1 || limit > 100)) {
    throw invalidRequest(400, 'This value must be greater than or equal to 1 and less than or equal to 100.', {
      code: 'parameter_invalid_integer',
      param: 'limit',
    });
  }
  return { limit, starting_after: p.string('starting_after'), ending_before: p.string('ending_before') };
}

/** `capabilities[transfers][requested]=true` → `['transfers']`. */
function requestedCapabilities(p: Params): string[] {
  const caps = p.object('capabilities') ?? {};
  return Object.entries(caps)
    .filter(([, v]) => typeof v === 'object' && v.requested === 'true')
    .map(([name]) => name);
}

/** The plain fields an update endpoint may change, plus metadata. */
function patchOf(p: Params, fields: readonly string[]): Patch {
  return {
    metadata: p.metadata(),
    fields: Object.fromEntries(fields.map((f) => [f, p.has(f) ? p.string(f) || null : undefined])),
  };
}

export function buildApiRouter(store: StripeStore, adjustments = new InvoiceAdjustments(store), sales = new MerchantSales(store)): Router<ApiHandler> {
  const router = new Router<ApiHandler>();
  /** Registers a handler that first rejects parameters outside `known`. */
  const route = (method: string, pattern: string, known: readonly string[], handler: ApiHandler) =>
    router.add(method, pattern, (ctx) => {
      ctx.params.rejectUnknown(known);
      return handler(ctx);
    });

  // -- accounts
  route('POST', '/v1/accounts', KNOWN.accountCreate, ({ params: p }) =>
    store.createAccount({
      type: p.oneOf('type', ['express', 'standard', 'custom'] as const),
      email: p.string('email'),
      country: p.string('country'),
      business_type: p.oneOf('business_type', ['company', 'government_entity', 'individual', 'non_profit'] as const),
      requestedCapabilities: requestedCapabilities(p),
      metadata: p.metadata(),
    }),
  );
  route('GET', '/v1/accounts', KNOWN.pagination, ({ params: p }) => store.listAccounts(listOptions(p)));
  route('GET', '/v1/accounts/:id', KNOWN.none, ({ path }) => store.getAccount(path.id));
  route('POST', '/v1/accounts/:id', KNOWN.accountUpdate, ({ params: p, path }) => store.updateAccount(path.id, patchOf(p, ['email'])));
  route('POST', '/v1/account_links', KNOWN.accountLinkCreate, ({ params: p }) =>
    store.createAccountLink({
      account: p.requiredString('account'),
      type: p.oneOf('type', ['account_onboarding', 'account_update'] as const, { required: true }),
      refresh_url: p.string('refresh_url'),
      return_url: p.string('return_url'),
    }),
  );

  // -- balance
  route('GET', '/v1/balance', KNOWN.none, () => store.balance());

  // -- transfers
  route('POST', '/v1/transfers', KNOWN.transferCreate, ({ params: p }) =>
    store.createTransfer({
      amount: p.integer('amount', { required: true, min: 1 }),
      currency: p.currency('currency', { required: true }),
      destination: p.requiredString('destination'),
      description: p.string('description'),
      transfer_group: p.string('transfer_group'),
      source_transaction: p.string('source_transaction'),
      metadata: p.metadata(),
    }),
  );
  route('GET', '/v1/transfers', KNOWN.transferList, ({ params: p }) =>
    store.listTransfers({ destination: p.string('destination'), transfer_group: p.string('transfer_group') }, listOptions(p)),
  );
  route('GET', '/v1/transfers/:id', KNOWN.none, ({ path }) => store.getTransfer(path.id));
  route('POST', '/v1/transfers/:id', KNOWN.transferUpdate, ({ params: p, path }) => store.updateTransfer(path.id, patchOf(p, ['description'])));
  route('POST', '/v1/transfers/:id/reversals', KNOWN.reversalCreate, ({ params: p, path }) =>
    store.createReversal(path.id, {
      amount: p.integer('amount', { min: 1 }),
      description: p.string('description'),
      metadata: p.metadata(),
    }),
  );
  route('GET', '/v1/transfers/:id/reversals', KNOWN.pagination, ({ params: p, path }) => store.listReversals(path.id, listOptions(p)));

  // -- customers (search before :id)
  route('POST', '/v1/customers', KNOWN.customerCreate, ({ params: p }) =>
    store.createCustomer({
      email: p.string('email'),
      name: p.string('name'),
      description: p.string('description'),
      phone: p.string('phone'),
      metadata: p.metadata(),
    }),
  );
  route('GET', '/v1/customers', KNOWN.customerList, ({ params: p }) => store.listCustomers({ email: p.string('email') }, listOptions(p)));
  route('GET', '/v1/customers/search', KNOWN.customerSearch, ({ params: p }) =>
    store.searchCustomers(p.requiredString('query'), { limit: listOptions(p).limit, page: p.string('page') }),
  );
  route('GET', '/v1/customers/:id', KNOWN.none, ({ path }) => store.getCustomer(path.id));
  route('POST', '/v1/customers/:id', KNOWN.customerCreate, ({ params: p, path }) => store.updateCustomer(path.id, patchOf(p, ['email', 'name', 'description', 'phone'])));

  // -- invoice items
  route('POST', '/v1/invoiceitems', KNOWN.invoiceItemCreate, ({ params: p }) =>
    store.createInvoiceItem({
      customer: p.requiredString('customer'),
      amount: p.integer('amount', { required: true }),
      currency: p.currency('currency', { required: true }),
      description: p.string('description'),
      metadata: p.metadata(),
      invoice: p.string('invoice'),
    }),
  );
  route('GET', '/v1/invoiceitems', KNOWN.invoiceItemList, ({ params: p }) =>
    store.listInvoiceItems({ invoice: p.string('invoice'), customer: p.string('customer'), pending: p.boolean('pending') }, listOptions(p)),
  );
  route('GET', '/v1/invoiceitems/:id', KNOWN.none, ({ path }) => store.getInvoiceItem(path.id));

  // -- invoices
  route('POST', '/v1/invoices', KNOWN.invoiceCreate, ({ params: p }) =>
    store.createInvoice({
      customer: p.requiredString('customer'),
      currency: p.currency('currency'),
      collection_method: p.oneOf('collection_method', ['charge_automatically', 'send_invoice'] as const),
      days_until_due: p.integer('days_until_due', { min: 0 }),
      due_date: p.integer('due_date'),
      auto_advance: p.boolean('auto_advance'),
      description: p.string('description'),
      metadata: p.metadata(),
      pending_invoice_items_behavior: p.oneOf('pending_invoice_items_behavior', ['include', 'exclude'] as const),
    }),
  );
  route('GET', '/v1/invoices', KNOWN.invoiceList, ({ params: p }) => store.listInvoices({ customer: p.string('customer'), status: p.string('status') }, listOptions(p)));
  route('GET', '/v1/invoices/:id', KNOWN.none, ({ path }) => store.getInvoice(path.id));
  route('POST', '/v1/invoices/:id', KNOWN.invoiceUpdate, ({ params: p, path }) => store.updateInvoice(path.id, patchOf(p, ['description'])));
  route('GET', '/v1/invoices/:id/lines', KNOWN.pagination, ({ params: p, path }) => store.listInvoiceLines(path.id, listOptions(p)));
  route('POST', '/v1/invoices/:id/finalize', KNOWN.invoiceFinalize, ({ params: p, path }) => store.finalizeInvoice(path.id, { auto_advance: p.boolean('auto_advance') }));
  route('POST', '/v1/invoices/:id/pay', KNOWN.invoicePay, ({ path }) => store.payInvoice(path.id));
  // -- credit notes, void, uncollectible, delete: billing.ts
  addBillingRoutes(route, adjustments, listOptions);
  // -- a merchant's sales (promotion codes, Checkout Sessions, refunds): merchant.ts
  addMerchantRoutes(route, sales);

  // -- events
  route('GET', '/v1/events', KNOWN.eventList, ({ params: p }) => store.listEvents({ type: p.string('type') }, listOptions(p)));
  route('GET', '/v1/events/:id', KNOWN.none, ({ path }) => store.getEvent(path.id));

  return router;
}

// ---------------------------------------------------------------------------
// /__emulator control API (JSON in, JSON out, no auth)
// ---------------------------------------------------------------------------

export interface ControlContext {
  body: Record<string, unknown>;
  path: Record<string, string>;
}
export interface ControlResult {
  status?: number;
  body?: unknown;
  /** Answer 302 to this location instead of JSON. */
  redirect?: string;
}
export type ControlHandler = (ctx: ControlContext) => ControlResult | Promise<ControlResult>;

const badRequest = (message: string) => invalidRequest(400, message);

function field<T extends 'string' | 'number'>(body: Record<string, unknown>, name: string, type: T, required = false): (T extends 'string' ? string : number) | undefined {
  const value = body[name];
  if (value === undefined || value === null) {
    if (required) throw badRequest(`missing "${name}"`);
    return undefined;
  }
  if (typeof value !== type) throw badRequest(`"${name}" must be a ${type}`);
  return value as T extends 'string' ? string : number;
}

export function buildControlRouter(emulator: StripeEmulator): Router<ControlHandler> {
  const router = new Router<ControlHandler>();
  const json = (body: unknown): ControlResult => ({ body });
  const ok: ControlResult = { body: { ok: true } };

  router
    .add('GET', '/__emulator/state', () => json(emulator.state()))
    .add('GET', '/__emulator/transfers', () => json(emulator.transfers()))
    .add('GET', '/__emulator/events', () => json(emulator.events()))
    .add('GET', '/__emulator/request-log', () => json(emulator.requestLog()))
    .add('GET', '/__emulator/in-flight-peak', () => json({ peak: emulator.inFlightPeak() }))
    .add('POST', '/__emulator/rate-limit', ({ body }) => {
      const perSecond = field(body, 'perSecond', 'number', false) as number | undefined;
      emulator.setRateLimit(perSecond ?? null);
      return ok;
    })
    .add('GET', '/__emulator/webhook-deliveries', () => json(emulator.webhookDeliveries()))
    .add('POST', '/__emulator/faults', ({ body }) => {
      const kind = field(body, 'kind', 'string', true) as FaultKind;
      if (!FAULT_KINDS.includes(kind)) throw badRequest(`"kind" must be one of ${FAULT_KINDS.join(', ')}`);
      const source = field(body, 'path', 'string', true)!;
      let path: RegExp;
      try {
        path = new RegExp(source);
      } catch (e) {
        throw badRequest(`"path" is not a valid regular expression: ${(e as Error).message}`);
      }
      emulator.injectFault({
        kind,
        path,
        method: field(body, 'method', 'string'),
        times: field(body, 'times', 'number'),
        delayMs: field(body, 'delayMs', 'number'),
      });
      return { status: 201, body: { ok: true, faults: emulator.faults() } };
    })
    .add('GET', '/__emulator/faults', () => json(emulator.faults()))
    .add('DELETE', '/__emulator/faults', () => (emulator.clearFaults(), ok))
    .add('POST', '/__emulator/forget-idempotency', () => (emulator.forgetIdempotencyKeys(), ok))
    .add('POST', '/__emulator/balance', ({ body }) => {
      emulator.setBalance(field(body, 'currency', 'string', true)!, field(body, 'amount', 'number', true)!);
      return json(emulator.balance());
    })
    .add('POST', '/__emulator/accounts/:id/complete-onboarding', ({ path }) => json(emulator.completeOnboarding(path.id)))
    .add('POST', '/__emulator/transfers/:id/reverse', ({ path }) => json(emulator.reverseTransfer(path.id)))
    .add('POST', '/__emulator/invoices/:id/pay', ({ body, path }) => json(emulator.payInvoice(path.id, field(body, 'amount', 'number'))))
    .add('POST', '/__emulator/invoices/:id/void', ({ path }) => json(emulator.voidInvoice(path.id)))
    .add('POST', '/__emulator/invoices/:id/mark-uncollectible', ({ path }) => json(emulator.markInvoiceUncollectible(path.id)))
    .add('GET', '/__emulator/credit-notes', () => json(emulator.creditNotes()))
    .add('POST', '/__emulator/webhook-url', ({ body }) => {
      const events = body.enabledEvents;
      if (events !== undefined && !(Array.isArray(events) && events.every((e) => typeof e === 'string'))) throw badRequest('"enabledEvents" must be an array of event types');
      emulator.setWebhookUrl(field(body, 'url', 'string'), events as string[] | undefined);
      return ok;
    })
    .add('POST', '/__emulator/events', ({ body }) => {
      const object = body.object;
      if (object === null || typeof object !== 'object') throw badRequest('"object" must be an object');
      const event = emulator.sendEvent(field(body, 'type', 'string', true)!, object, {
        account: field(body, 'account', 'string'),
      });
      return { status: 201, body: event };
    })
    .add('POST', '/__emulator/events/:id/redeliver', async ({ body, path }) => json(await emulator.redeliver(path.id, { timestamp: field(body, 'timestamp', 'number') })))
    .add('POST', '/__emulator/flush-webhooks', async () => (await emulator.flushWebhooks(), ok))
    // What a browser does with an account link URL: onboarding completes, then 302 to return_url.
    .add('GET', '/__emulator/account-links/:token', ({ path }) => {
      const visit = emulator.followAccountLink(path.token);
      return visit.redirect ? { redirect: visit.redirect } : json(visit);
    });
  return router;
}
