/**
 * State and resources of the Stripe emulator: accounts, account links,
 * transfers and reversals, the platform balance, customers, invoice items,
 * invoices and events, with the business rules Stripe applies to them.
 *
 * Inputs are already parsed (see routes.ts); errors are thrown as Stripe-shaped
 * ApiErrors. Objects are stored in the shape the SDK types declare and handed
 * out as deep copies, so callers can never mutate the state.
 */
import { randomBytes } from 'node:crypto';
import type Stripe from 'stripe';
import { errors, invalidRequest, type ApiError, type MetadataPatch } from './http';

export type Account = Stripe.Account;
export type Transfer = Stripe.Transfer;
export type TransferReversal = Stripe.TransferReversal;
export type Customer = Stripe.Customer;
export type InvoiceLine = Stripe.InvoiceLineItem;
/** `quantity_decimal` travels as a string; the SDK turns it into a Decimal. */
export type InvoiceItem = Omit<Stripe.InvoiceItem, 'quantity_decimal'> & { quantity_decimal: string };
export type Invoice = Pick<
  Stripe.Invoice,
  | 'id'
  | 'object'
  | 'account_country'
  | 'account_name'
  | 'amount_due'
  | 'amount_overpaid'
  | 'amount_paid'
  | 'amount_remaining'
  | 'amount_shipping'
  | 'attempt_count'
  | 'attempted'
  | 'auto_advance'
  | 'billing_reason'
  | 'collection_method'
  | 'created'
  | 'currency'
  | 'customer'
  | 'customer_email'
  | 'customer_name'
  | 'description'
  | 'due_date'
  | 'effective_at'
  | 'ending_balance'
  | 'hosted_invoice_url'
  | 'invoice_pdf'
  | 'lines'
  | 'livemode'
  | 'metadata'
  | 'number'
  | 'parent'
  | 'period_end'
  | 'period_start'
  | 'starting_balance'
  | 'status'
  | 'status_transitions'
  | 'subtotal'
  | 'subtotal_excluding_tax'
  | 'total'
  | 'total_excluding_tax'
  | 'webhooks_delivered_at'
  | 'pre_payment_credit_notes_amount'
  | 'post_payment_credit_notes_amount'
>;

export interface EmulatorEvent {
  id: string;
  object: 'event';
  /** Set on Connect events (e.g. `account.updated` of a connected account). */
  account?: string;
  api_version: string;
  created: number;
  data: { object: unknown; previous_attributes?: Record<string, unknown> };
  livemode: false;
  pending_webhooks: number;
  /** The API request that caused the event; null when triggered from the control API. */
  request: { id: string | null; idempotency_key: string | null } | null;
  type: string;
}

export interface ListOptions {
  limit?: number;
  starting_after?: string;
  ending_before?: string;
}

/** Balance every currency starts with: large enough never to matter unless a test lowers it. */
export const INITIAL_BALANCE = 10 ** 12;
const INITIAL_CURRENCIES = ['usd', 'eur', 'gbp', 'jpy'];
const EMBEDDED_LIST_LIMIT = 10;
const ACCOUNT_LINK_TTL_SECONDS = 300;

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** Stripe-like id: `tr_` followed by 24 base62 characters. */
export function newId(prefix: string, length = 24): string {
  const bytes = randomBytes(length);
  let out = '';
  for (const byte of bytes) out += BASE62[byte % 62];
  return `${prefix}_${out}`;
}

export const now = () => Math.floor(Date.now() / 1000);
export const clone = <T>(value: T): T => structuredClone(value);

function mergeMetadata(current: Record<string, string>, patch: MetadataPatch): Record<string, string> {
  if (patch === null) return {};
  const next = { ...current };
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete next[key];
    else next[key] = value;
  }
  return next;
}

/** What an update may change: metadata plus a few plain fields (`undefined` = untouched, `null` = unset). */
export interface Patch {
  metadata?: MetadataPatch;
  fields?: Record<string, string | null | undefined>;
}

/** Applies a patch in place and returns the previous values of what changed (`previous_attributes`). */
function applyPatch(target: object, patch: Patch): Record<string, unknown> {
  const record = target as Record<string, unknown>;
  const previous: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(patch.fields ?? {})) {
    if (value !== undefined && record[key] !== value) {
      previous[key] = record[key] ?? null;
      record[key] = value;
    }
  }
  if (patch.metadata !== undefined) {
    const before = (record.metadata ?? {}) as Record<string, string>;
    const after = mergeMetadata(before, patch.metadata);
    if (JSON.stringify(before) !== JSON.stringify(after)) {
      previous.metadata = before;
      record.metadata = after;
    }
  }
  return previous;
}

/** Stripe list pagination over items sorted newest first. */
function paginate<T extends { id: string }>(newestFirst: T[], options: ListOptions, url: string, noun: string): Stripe.ApiList<T> {
  const limit = options.limit ?? 10;
  const cursor = (id: string, param: string) => {
    const index = newestFirst.findIndex((item) => item.id === id);
    if (index < 0) throw errors.noSuch(noun, id, param);
    return index;
  };
  let data: T[];
  let hasMore: boolean;
  if (options.starting_after !== undefined) {
    const start = cursor(options.starting_after, 'starting_after') + 1;
    data = newestFirst.slice(start, start + limit);
    hasMore = start + limit < newestFirst.length;
  } else if (options.ending_before !== undefined) {
    const end = cursor(options.ending_before, 'ending_before');
    data = newestFirst.slice(Math.max(0, end - limit), end);
    hasMore = end - limit > 0;
  } else {
    data = newestFirst.slice(0, limit);
    hasMore = limit < newestFirst.length;
  }
  return { object: 'list', data, has_more: hasMore, url };
}

/** Objects of one kind, in creation order, with Stripe's "No such …" error for unknown ids. */
export class Collection<T extends { id: string }> {
  private readonly items = new Map<string, T>();

  constructor(private readonly noun: string) {}

  add(item: T): T {
    this.items.set(item.id, item);
    return item;
  }

  /** @param param where the id came from: `id` (URL, 404) or a body parameter (400). */
  get(id: string, param = 'id'): T {
    const item = this.items.get(id);
    if (!item) throw errors.noSuch(this.noun, id, param);
    return item;
  }

  all(): T[] {
    return [...this.items.values()];
  }

  remove(id: string): void {
    this.items.delete(id);
  }

  newestFirst(filter: (item: T) => boolean = () => true): T[] {
    return this.all().filter(filter).reverse();
  }

  list(filter: (item: T) => boolean, options: ListOptions, url: string): Stripe.ApiList<T> {
    return paginate(this.newestFirst(filter), options, url, this.noun);
  }
}

/**
 * Amounts are in Stripe's representation, which for a few currencies is not ISO 4217's: ISK and
 * UGX are two-decimal with whole units only (ISK 5 is 500), HUF and TWD are two-decimal but
 * transfers must be whole units, and the three-decimal currencies must end in 0. Stripe refuses
 * anything else with a 400 (the zero-decimal currencies need no check: any integer is valid).
 */
const WHOLE_UNITS = new Set(['isk', 'ugx']);
const WHOLE_UNIT_TRANSFERS = new Set(['huf', 'twd']);
const THREE_DECIMAL = new Set(['bhd', 'jod', 'kwd', 'omr', 'tnd']);

export function assertStripeAmount(amount: number, currency: string, use: 'charge' | 'transfer'): void {
  const step = WHOLE_UNITS.has(currency) || (use === 'transfer' && WHOLE_UNIT_TRANSFERS.has(currency)) ? 100 : THREE_DECIMAL.has(currency) ? 10 : 1;
  if (amount % step !== 0) {
    throw invalidRequest(
      400,
      `Invalid amount: ${currency.toUpperCase()} amounts${use === 'transfer' ? ' of transfers' : ''} must be a multiple of ${step} (in the currency's smallest unit).`,
      {
        code: 'invalid_amount',
        param: 'amount',
      },
    );
  }
}

/** Stripe's error for a transfer above the available balance (stored under the idempotency key). */
export function insufficientFundsError(): ApiError {
  return invalidRequest(
    400,
    'You have insufficient available funds in your Stripe account. Try adding funds directly to your available ' +
      'balance by creating Charges using the 4000000000000077 test card. See: https://stripe.com/docs/testing#available-balance',
    { code: 'balance_insufficient', executed: true },
  );
}

// ---------------------------------------------------------------------------
// Customer search: `metadata['key']:'value' AND email:'x'`, `name~'sub'`, `-field:'v'`
// ---------------------------------------------------------------------------

interface SearchClause {
  negate: boolean;
  field: string;
  metadataKey?: string;
  op: ':' | '~';
  value: string;
}

const CLAUSE = /^\s*(-)?\s*(?:metadata\[(['"])(.*?)\2\]|([a-z_]+))\s*([:~])\s*(['"])(.*?)\6\s*/;

function parseSearchQuery(query: string): { clauses: SearchClause[]; join: 'AND' | 'OR' } {
  const malformed = () => errors.invalidValue('query', `The search query is malformed: ${query}. See https://stripe.com/docs/search#search-query-language`);
  const clauses: SearchClause[] = [];
  const joins = new Set<'AND' | 'OR'>();
  let rest = query;
  for (;;) {
    const m = CLAUSE.exec(rest);
    if (!m) throw malformed();
    clauses.push({ negate: !!m[1], field: m[4] ?? 'metadata', metadataKey: m[3], op: m[5] as ':' | '~', value: m[7] });
    rest = rest.slice(m[0].length);
    if (rest.trim() === '') break;
    const join = /^(AND|OR)\s+/.exec(rest);
    if (!join) throw malformed();
    joins.add(join[1] as 'AND' | 'OR');
    rest = rest.slice(join[0].length);
  }
  if (joins.size > 1) throw errors.invalidValue('query', 'Search queries cannot mix AND and OR.');
  return { clauses, join: joins.has('OR') ? 'OR' : 'AND' };
}

function customerMatches(customer: Customer, clause: SearchClause): boolean {
  let actual: string | null | undefined;
  if (clause.metadataKey !== undefined) actual = customer.metadata[clause.metadataKey];
  else if (clause.field === 'email' || clause.field === 'name' || clause.field === 'phone') {
    actual = customer[clause.field];
  } else {
    throw errors.invalidValue('query', `Field '${clause.field}' is not supported for search on customers.`);
  }
  const hit = actual !== null && actual !== undefined && (clause.op === ':' ? actual === clause.value : actual.includes(clause.value));
  return clause.negate ? !hit : hit;
}

// ---------------------------------------------------------------------------
// Store
// ---------------------------------------------------------------------------

const COUNTRY_CURRENCY: Record<string, string> = { US: 'usd', GB: 'gbp', JP: 'jpy', CA: 'cad', AU: 'aud' };
const EURO_COUNTRIES = new Set(['AT', 'BE', 'DE', 'ES', 'FI', 'FR', 'IE', 'IT', 'LU', 'NL', 'PT']);

interface AccountLinkRecord {
  account: string;
  type: string;
  refresh_url: string | null;
  return_url: string | null;
  expires_at: number;
}

export interface RequestContext {
  id: string;
  idempotency_key: string | null;
}

export class StripeStore {
  /** Public base URL of the emulator, used for account-link URLs. */
  baseUrl = 'http://127.0.0.1';
  /** Called for every emitted event (webhook delivery hooks in here). */
  onEvent: (event: EmulatorEvent) => void = () => undefined;

  readonly accounts = new Collection<Account>('account');
  readonly transfers = new Collection<Transfer>('transfer');
  readonly customers = new Collection<Customer>('customer');
  readonly invoiceItems = new Collection<InvoiceItem>('invoiceitem');
  readonly invoices = new Collection<Invoice>('invoice');
  readonly events = new Collection<EmulatorEvent>('event');
  private readonly accountLinks = new Map<string, AccountLinkRecord>();
  private readonly available = new Map<string, number>(INITIAL_CURRENCIES.map((c) => [c, INITIAL_BALANCE]));
  private currentRequest: RequestContext | null = null;

  constructor(private readonly apiVersion: string) {}

  /** Runs `fn` with events attributed to the given API request. */
  withRequest<T>(request: RequestContext, fn: () => T): T {
    this.currentRequest = request;
    try {
      return fn();
    } finally {
      this.currentRequest = null;
    }
  }

  // -- events ---------------------------------------------------------------

  emit(type: string, object: unknown, extra: { account?: string; previous_attributes?: Record<string, unknown> } = {}): EmulatorEvent {
    const event: EmulatorEvent = {
      id: newId('evt'),
      object: 'event',
      ...(extra.account ? { account: extra.account } : {}),
      api_version: this.apiVersion,
      created: now(),
      data: {
        object: clone(object),
        ...(extra.previous_attributes ? { previous_attributes: clone(extra.previous_attributes) } : {}),
      },
      livemode: false,
      pending_webhooks: 0,
      request: this.currentRequest ? { ...this.currentRequest } : null,
      type,
    };
    this.events.add(event);
    this.onEvent(event);
    return clone(event);
  }

  getEvent(id: string): EmulatorEvent {
    return clone(this.events.get(id));
  }

  listEvents(filter: { type?: string }, options: ListOptions): Stripe.ApiList<EmulatorEvent> {
    return clone(this.events.list((e) => filter.type === undefined || e.type === filter.type, options, '/v1/events'));
  }

  // -- accounts -------------------------------------------------------------

  createAccount(input: {
    type?: Stripe.Account.Type;
    email?: string;
    country?: string;
    business_type?: string;
    requestedCapabilities: string[];
    metadata?: MetadataPatch;
  }): Account {
    const country = (input.country ?? 'US').toUpperCase();
    const capabilities = Object.fromEntries(input.requestedCapabilities.map((c) => [c, 'inactive']));
    const account: Account = {
      id: newId('acct', 16),
      object: 'account',
      type: input.type ?? 'standard',
      business_type: (input.business_type as Stripe.Account.BusinessType | undefined) ?? null,
      capabilities: capabilities as Stripe.Account.Capabilities,
      charges_enabled: false,
      payouts_enabled: false,
      details_submitted: false,
      country,
      default_currency: COUNTRY_CURRENCY[country] ?? (EURO_COUNTRIES.has(country) ? 'eur' : 'usd'),
      created: now(),
      email: input.email ?? null,
      metadata: mergeMetadata({}, input.metadata ?? {}),
      requirements: {
        alternatives: [],
        current_deadline: null,
        currently_due: ['business_type', 'external_account', 'tos_acceptance.date', 'tos_acceptance.ip'],
        disabled_reason: 'requirements.past_due',
        errors: [],
        eventually_due: ['business_type', 'external_account', 'tos_acceptance.date', 'tos_acceptance.ip'],
        past_due: ['business_type', 'external_account', 'tos_acceptance.date', 'tos_acceptance.ip'],
        pending_verification: [],
      },
    };
    this.accounts.add(account);
    return clone(account);
  }

  getAccount(id: string): Account {
    return clone(this.accounts.get(id));
  }

  listAccounts(options: ListOptions): Stripe.ApiList<Account> {
    return clone(this.accounts.list(() => true, options, '/v1/accounts'));
  }

  updateAccount(id: string, patch: Patch): Account {
    const account = this.accounts.get(id);
    return this.update(account, patch, 'account.updated', { account: account.id });
  }

  /** What the hosted onboarding flow does when the user finishes: the account can receive transfers. */
  completeOnboarding(id: string): Account {
    const account = this.accounts.get(id);
    const previous = clone({
      charges_enabled: account.charges_enabled,
      payouts_enabled: account.payouts_enabled,
      details_submitted: account.details_submitted,
      capabilities: account.capabilities,
      requirements: account.requirements,
    });
    account.charges_enabled = true;
    account.payouts_enabled = true;
    account.details_submitted = true;
    account.capabilities = Object.fromEntries(Object.keys(account.capabilities ?? {}).map((c) => [c, 'active'])) as Stripe.Account.Capabilities;
    account.requirements = {
      alternatives: [],
      current_deadline: null,
      currently_due: [],
      disabled_reason: null,
      errors: [],
      eventually_due: [],
      past_due: [],
      pending_verification: [],
    };
    this.emit('account.updated', account, { account: account.id, previous_attributes: previous });
    return clone(account);
  }

  createAccountLink(input: { account: string; type: string; refresh_url?: string; return_url?: string }): Stripe.AccountLink {
    this.accounts.get(input.account, 'account');
    const token = newId('link').slice('link_'.length);
    const created = now();
    const expiresAt = created + ACCOUNT_LINK_TTL_SECONDS;
    this.accountLinks.set(token, {
      account: input.account,
      type: input.type,
      refresh_url: input.refresh_url ?? null,
      return_url: input.return_url ?? null,
      expires_at: expiresAt,
    });
    return { object: 'account_link', created, expires_at: expiresAt, url: `${this.baseUrl}/__emulator/account-links/${token}` };
  }

  /**
   * Visiting an account link: an onboarding link completes onboarding and
   * sends the user to `return_url`; an expired one sends them to `refresh_url`.
   */
  followAccountLink(token: string): { account: string; redirect: string | null; expired: boolean } {
    const link = this.accountLinks.get(token);
    if (!link) throw errors.noSuch('account link', token);
    if (link.expires_at < now()) return { account: link.account, redirect: link.refresh_url, expired: true };
    this.accountLinks.delete(token);
    if (link.type === 'account_onboarding') this.completeOnboarding(link.account);
    return { account: link.account, redirect: link.return_url, expired: false };
  }

  // -- balance --------------------------------------------------------------

  balance(): Stripe.Balance {
    const entries = [...this.available.entries()];
    return {
      object: 'balance',
      available: entries.map(([currency, amount]) => ({ amount, currency, source_types: { card: amount } })),
      pending: entries.map(([currency]) => ({ amount: 0, currency, source_types: { card: 0 } })),
      livemode: false,
    };
  }

  setBalance(currency: string, amount: number): void {
    if (!Number.isSafeInteger(amount)) throw new Error(`balance must be an integer, got ${amount}`);
    this.available.set(currency.toLowerCase(), amount);
  }

  // -- transfers ------------------------------------------------------------

  createTransfer(input: {
    amount: number;
    currency: string;
    destination: string;
    description?: string;
    transfer_group?: string;
    source_transaction?: string;
    metadata?: MetadataPatch;
  }): Transfer {
    const destination = this.accounts.get(input.destination, 'destination');
    if (!destination.payouts_enabled) {
      throw invalidRequest(400, 'Your destination account needs to have at least one of the following capabilities enabled: transfers, crypto_transfers, legacy_payments', {
        code: 'insufficient_capabilities_for_transfer',
        param: 'destination',
      });
    }
    assertStripeAmount(input.amount, input.currency, 'transfer');
    const available = this.available.get(input.currency) ?? 0;
    if (input.amount > available) throw insufficientFundsError();
    this.available.set(input.currency, available - input.amount);

    const transfer: Transfer = {
      id: newId('tr'),
      object: 'transfer',
      amount: input.amount,
      amount_reversed: 0,
      balance_transaction: newId('txn'),
      created: now(),
      currency: input.currency,
      description: input.description ?? null,
      destination: destination.id,
      destination_payment: newId('py'),
      livemode: false,
      metadata: mergeMetadata({}, input.metadata ?? {}),
      reversals: { object: 'list', data: [], has_more: false, url: '' },
      reversed: false,
      source_transaction: input.source_transaction ?? null,
      source_type: 'card',
      transfer_group: input.transfer_group ?? null,
    };
    transfer.reversals.url = `/v1/transfers/${transfer.id}/reversals`;
    this.transfers.add(transfer);
    this.emit('transfer.created', this.presentTransfer(transfer));
    return this.presentTransfer(transfer);
  }

  getTransfer(id: string): Transfer {
    return this.presentTransfer(this.transfers.get(id));
  }

  listTransfers(filter: { destination?: string; transfer_group?: string }, options: ListOptions): Stripe.ApiList<Transfer> {
    const list = this.transfers.list(
      (t) => (filter.destination === undefined || t.destination === filter.destination) && (filter.transfer_group === undefined || t.transfer_group === filter.transfer_group),
      options,
      '/v1/transfers',
    );
    return { ...list, data: list.data.map((t) => this.presentTransfer(t)) };
  }

  /** All transfers in creation order, with every reversal. */
  allTransfers(): Transfer[] {
    return clone(this.transfers.all());
  }

  updateTransfer(id: string, patch: Patch): Transfer {
    return this.update(this.transfers.get(id), patch, 'transfer.updated', { present: (t) => this.presentTransfer(t) });
  }

  /** Reverses `amount` (default: what is left); the money returns to the platform balance. */
  createReversal(transferId: string, input: { amount?: number; description?: string; metadata?: MetadataPatch } = {}): TransferReversal {
    const transfer = this.transfers.get(transferId);
    const remaining = transfer.amount - transfer.amount_reversed;
    if (remaining === 0) {
      throw invalidRequest(400, `Transfer ${transfer.id} has already been fully reversed.`, { param: 'amount' });
    }
    const amount = input.amount ?? remaining;
    assertStripeAmount(amount, transfer.currency, 'transfer');
    if (amount > remaining) {
      throw invalidRequest(400, `Refund amount (${amount}) is greater than unrefunded amount on transfer (${remaining})`, { code: 'amount_too_large', param: 'amount' });
    }
    const previous = { amount_reversed: transfer.amount_reversed, reversed: transfer.reversed };
    const reversal: TransferReversal = {
      id: newId('trr'),
      object: 'transfer_reversal',
      amount,
      balance_transaction: newId('txn'),
      created: now(),
      currency: transfer.currency,
      destination_payment_refund: newId('pyr'),
      metadata: mergeMetadata({}, input.metadata ?? {}),
      source_refund: null,
      transfer: transfer.id,
    };
    transfer.reversals.data.unshift(reversal);
    transfer.amount_reversed += amount;
    transfer.reversed = transfer.amount_reversed === transfer.amount;
    this.available.set(transfer.currency, (this.available.get(transfer.currency) ?? 0) + amount);
    this.emit('transfer.reversed', this.presentTransfer(transfer), { previous_attributes: previous });
    return clone(reversal);
  }

  listReversals(transferId: string, options: ListOptions): Stripe.ApiList<TransferReversal> {
    const transfer = this.transfers.get(transferId);
    return clone(paginate(transfer.reversals.data, options, transfer.reversals.url, 'transfer_reversal'));
  }

  /** Stripe embeds the 10 most recent reversals. */
  private presentTransfer(transfer: Transfer): Transfer {
    const copy = clone(transfer);
    copy.reversals.has_more = copy.reversals.data.length > EMBEDDED_LIST_LIMIT;
    copy.reversals.data = copy.reversals.data.slice(0, EMBEDDED_LIST_LIMIT);
    return copy;
  }

  // -- customers ------------------------------------------------------------

  createCustomer(input: { email?: string; name?: string; description?: string; phone?: string; metadata?: MetadataPatch }): Customer {
    const customer: Customer = {
      id: newId('cus', 14),
      object: 'customer',
      balance: 0,
      created: now(),
      currency: null,
      default_source: null,
      delinquent: false,
      description: input.description ?? null,
      email: input.email ?? null,
      invoice_prefix: newId('x', 8).slice(2).toUpperCase(),
      invoice_settings: { custom_fields: null, default_payment_method: null, footer: null, rendering_options: null },
      livemode: false,
      metadata: mergeMetadata({}, input.metadata ?? {}),
      name: input.name ?? null,
      next_invoice_sequence: 1,
      phone: input.phone ?? null,
      preferred_locales: [],
      shipping: null,
      tax_exempt: 'none',
      test_clock: null,
    };
    this.customers.add(customer);
    this.emit('customer.created', customer);
    return clone(customer);
  }

  getCustomer(id: string): Customer {
    return clone(this.customers.get(id));
  }

  updateCustomer(id: string, patch: Patch): Customer {
    return this.update(this.customers.get(id), patch, 'customer.updated');
  }

  listCustomers(filter: { email?: string }, options: ListOptions): Stripe.ApiList<Customer> {
    return clone(this.customers.list((c) => filter.email === undefined || c.email === filter.email, options, '/v1/customers'));
  }

  /**
   * Customer search. Unlike Stripe (whose search index lags writes by up to
   * a minute) results are immediate. `page` is an opaque offset token.
   */
  searchCustomers(query: string, options: { limit?: number; page?: string }): Stripe.ApiSearchResult<Customer> {
    const { clauses, join } = parseSearchQuery(query);
    const matches = this.customers.newestFirst((c) => (join === 'AND' ? clauses.every((q) => customerMatches(c, q)) : clauses.some((q) => customerMatches(c, q))));
    const limit = options.limit ?? 10;
    const offset = options.page === undefined ? 0 : Number.parseInt(options.page, 10);
    if (!Number.isInteger(offset) || offset < 0) throw errors.invalidValue('page', `Invalid page: ${options.page}`);
    const hasMore = offset + limit < matches.length;
    return clone({
      object: 'search_result',
      data: matches.slice(offset, offset + limit),
      has_more: hasMore,
      next_page: hasMore ? String(offset + limit) : null,
      url: '/v1/customers/search',
    });
  }

  // -- invoice items --------------------------------------------------------

  createInvoiceItem(input: { customer: string; amount: number; currency: string; description?: string; metadata?: MetadataPatch; invoice?: string }): InvoiceItem {
    assertStripeAmount(input.amount, input.currency, 'charge');
    const customer = this.customers.get(input.customer, 'customer');
    const invoice = input.invoice === undefined ? undefined : this.invoices.get(input.invoice, 'invoice');
    if (invoice) {
      this.assertDraft(invoice);
      if (invoice.customer !== customer.id) {
        throw errors.invalidValue('invoice', `The invoice ${invoice.id} does not belong to customer ${customer.id}.`);
      }
      if (invoice.currency !== input.currency) {
        throw errors.invalidValue('currency', `The currency of this invoice item (${input.currency}) does not match the currency of the invoice (${invoice.currency}).`);
      }
    }
    const created = now();
    const item: InvoiceItem = {
      id: newId('ii'),
      object: 'invoiceitem',
      amount: input.amount,
      currency: input.currency,
      customer: customer.id,
      customer_account: null,
      date: created,
      description: input.description ?? null,
      discountable: true,
      discounts: [],
      invoice: null,
      livemode: false,
      metadata: mergeMetadata({}, input.metadata ?? {}),
      net_amount: input.amount,
      parent: null,
      period: { start: created, end: created },
      pricing: null,
      proration: false,
      quantity: 1,
      quantity_decimal: '1',
      tax_rates: [],
      test_clock: null,
    };
    this.invoiceItems.add(item);
    if (invoice) this.attachItem(invoice, item);
    this.emit('invoiceitem.created', item);
    return clone(item);
  }

  getInvoiceItem(id: string): InvoiceItem {
    return clone(this.invoiceItems.get(id));
  }

  listInvoiceItems(filter: { invoice?: string; customer?: string; pending?: boolean }, options: ListOptions): Stripe.ApiList<InvoiceItem> {
    return clone(
      this.invoiceItems.list(
        (ii) =>
          (filter.invoice === undefined || ii.invoice === filter.invoice) &&
          (filter.customer === undefined || ii.customer === filter.customer) &&
          (filter.pending === undefined || (ii.invoice === null) === filter.pending),
        options,
        '/v1/invoiceitems',
      ),
    );
  }

  // -- invoices -------------------------------------------------------------

  createInvoice(input: {
    customer: string;
    currency?: string;
    collection_method?: Stripe.Invoice.CollectionMethod;
    days_until_due?: number;
    due_date?: number;
    auto_advance?: boolean;
    description?: string;
    metadata?: MetadataPatch;
    pending_invoice_items_behavior?: 'include' | 'exclude';
  }): Invoice {
    const customer = this.customers.get(input.customer, 'customer');
    const collectionMethod = input.collection_method ?? 'charge_automatically';
    const created = now();
    let dueDate: number | null = null;
    if (collectionMethod === 'send_invoice') {
      if (input.days_until_due === undefined && input.due_date === undefined) throw errors.missing('days_until_due');
      dueDate = input.due_date ?? created + input.days_until_due! * 86400;
    }
    const include = input.pending_invoice_items_behavior === 'include';
    const pending = () => this.invoiceItems.all().filter((ii) => ii.customer === customer.id && ii.invoice === null);
    const currency = input.currency ?? (include ? pending()[0]?.currency : undefined) ?? customer.currency ?? 'usd';

    const invoice: Invoice = {
      id: newId('in'),
      object: 'invoice',
      account_country: 'US',
      account_name: 'Stripe Emulator Platform',
      amount_due: 0,
      amount_overpaid: 0,
      amount_paid: 0,
      amount_remaining: 0,
      amount_shipping: 0,
      attempt_count: 0,
      attempted: false,
      auto_advance: input.auto_advance ?? false,
      billing_reason: 'manual',
      collection_method: collectionMethod,
      created,
      currency,
      customer: customer.id,
      customer_email: customer.email,
      customer_name: customer.name ?? null,
      description: input.description ?? null,
      due_date: dueDate,
      effective_at: null,
      ending_balance: null,
      hosted_invoice_url: null,
      invoice_pdf: null,
      lines: { object: 'list', data: [], has_more: false, url: '' },
      livemode: false,
      metadata: mergeMetadata({}, input.metadata ?? {}),
      number: null,
      parent: null,
      period_end: created,
      period_start: created,
      starting_balance: 0,
      status: 'draft',
      status_transitions: { finalized_at: null, marked_uncollectible_at: null, paid_at: null, voided_at: null },
      subtotal: 0,
      subtotal_excluding_tax: 0,
      total: 0,
      total_excluding_tax: 0,
      webhooks_delivered_at: null,
      pre_payment_credit_notes_amount: 0,
      post_payment_credit_notes_amount: 0,
    };
    invoice.lines.url = `/v1/invoices/${invoice.id}/lines`;
    this.invoices.add(invoice);
    if (include) {
      for (const item of pending().filter((ii) => ii.currency === currency)) this.attachItem(invoice, item);
    }
    this.emit('invoice.created', this.presentInvoice(invoice));
    return this.presentInvoice(invoice);
  }

  getInvoice(id: string): Invoice {
    return this.presentInvoice(this.invoices.get(id));
  }

  listInvoices(filter: { customer?: string; status?: string }, options: ListOptions): Stripe.ApiList<Invoice> {
    const list = this.invoices.list(
      (inv) => (filter.customer === undefined || inv.customer === filter.customer) && (filter.status === undefined || inv.status === filter.status),
      options,
      '/v1/invoices',
    );
    return { ...list, data: list.data.map((inv) => this.presentInvoice(inv)) };
  }

  /** All invoices in creation order, with every line. */
  allInvoices(): Invoice[] {
    return clone(this.invoices.all());
  }

  listInvoiceLines(id: string, options: ListOptions): Stripe.ApiList<InvoiceLine> {
    const invoice = this.invoices.get(id);
    // Lines read in invoice order; pagination expects "newest first" so reverse twice.
    const page = paginate([...invoice.lines.data].reverse(), options, invoice.lines.url, 'line_item');
    return clone({ ...page, data: page.data.reverse() });
  }

  updateInvoice(id: string, patch: Patch): Invoice {
    return this.update(this.invoices.get(id), patch, 'invoice.updated', { present: (i) => this.presentInvoice(i) });
  }

  /** draft → open (a zero total goes straight to paid, as on Stripe). */
  finalizeInvoice(id: string, input: { auto_advance?: boolean } = {}): Invoice {
    const invoice = this.invoices.get(id);
    if (invoice.status !== 'draft') {
      throw invalidRequest(400, "This invoice is already finalized, you can't re-finalize a non-draft invoice.", {
        code: 'invoice_not_editable',
      });
    }
    const customer = this.customers.get(String(invoice.customer));
    const at = now();
    const token = newId('test', 32).slice('test_'.length);
    invoice.status = 'open';
    invoice.number = `${customer.invoice_prefix}-${String(customer.next_invoice_sequence ?? 1).padStart(4, '0')}`;
    customer.next_invoice_sequence = (customer.next_invoice_sequence ?? 1) + 1;
    invoice.hosted_invoice_url = `https://invoice.stripe.com/i/acct_emulator/test_${token}`;
    invoice.invoice_pdf = `https://pay.stripe.com/invoice/acct_emulator/test_${token}/pdf`;
    invoice.effective_at = at;
    invoice.status_transitions.finalized_at = at;
    invoice.ending_balance = 0;
    if (input.auto_advance !== undefined) invoice.auto_advance = input.auto_advance;
    this.emit('invoice.finalized', this.presentInvoice(invoice));
    if (invoice.amount_due === 0) this.markPaid(invoice);
    return this.presentInvoice(invoice);
  }

  /**
   * open (or uncollectible) → paid (the emulator has no payment methods: paying always succeeds).
   * `amount` below what is due is Stripe's `forgive`: the source had only that much, the rest is forgiven.
   */
  payInvoice(id: string, amount?: number): Invoice {
    const invoice = this.invoices.get(id);
    if (invoice.status === 'paid') throw invalidRequest(400, 'Invoice is already paid');
    if (invoice.status !== 'open' && invoice.status !== 'uncollectible') {
      throw invalidRequest(400, `You can only pay an open invoice; this invoice is ${invoice.status}.`);
    }
    this.markPaid(invoice, amount);
    return this.presentInvoice(invoice);
  }

  markPaid(invoice: Invoice, amount = invoice.amount_remaining): void {
    invoice.status = 'paid';
    invoice.amount_paid += Math.min(amount, invoice.amount_remaining);
    invoice.amount_remaining = 0;
    invoice.attempted = true;
    invoice.attempt_count = invoice.amount_due > 0 ? 1 : 0;
    invoice.status_transitions.paid_at = now();
    invoice.auto_advance = false;
    const snapshot = this.presentInvoice(invoice);
    this.emit('invoice.paid', snapshot);
    this.emit('invoice.payment_succeeded', snapshot);
  }

  private assertDraft(invoice: Invoice): void {
    if (invoice.status !== 'draft') {
      throw invalidRequest(400, `You can only modify draft invoices; ${invoice.id} is ${invoice.status}.`, {
        code: 'invoice_not_editable',
        param: 'invoice',
      });
    }
  }

  private attachItem(invoice: Invoice, item: InvoiceItem): void {
    item.invoice = invoice.id;
    invoice.lines.data.push({
      id: newId('il'),
      object: 'line_item',
      amount: item.amount,
      currency: item.currency,
      description: item.description,
      discount_amounts: [],
      discountable: true,
      discounts: [],
      invoice: invoice.id,
      livemode: false,
      metadata: { ...(item.metadata ?? {}) },
      parent: {
        type: 'invoice_item_details',
        invoice_item_details: { invoice_item: item.id, proration: false, proration_details: null, subscription: null },
        subscription_item_details: null,
      },
      period: { ...item.period },
      pretax_credit_amounts: [],
      pricing: null,
      quantity: item.quantity,
      quantity_decimal: null,
      subscription: null,
      subtotal: item.amount,
      taxes: [],
    });
    const total = invoice.lines.data.reduce((sum, line) => sum + line.amount, 0);
    invoice.subtotal = invoice.subtotal_excluding_tax = invoice.total = invoice.total_excluding_tax = total;
    invoice.amount_due = invoice.amount_remaining = total;
  }

  /** Stripe embeds the first 10 lines; the rest are under `/v1/invoices/:id/lines`. */
  presentInvoice(invoice: Invoice): Invoice {
    const copy = clone(invoice);
    copy.lines.has_more = copy.lines.data.length > EMBEDDED_LIST_LIMIT;
    copy.lines.data = copy.lines.data.slice(0, EMBEDDED_LIST_LIMIT);
    return copy;
  }

  // -- shared ---------------------------------------------------------------

  /**
   * Patches a stored object, emits `<type>.updated` when something changed and
   * returns the object as the API shows it (`present`, default: a copy).
   */
  private update<T extends { id: string }>(target: T, patch: Patch, eventType: string, options: { account?: string; present?: (target: T) => T } = {}): T {
    const { account, present = clone } = options;
    const previous = applyPatch(target, patch);
    if (Object.keys(previous).length > 0) {
      this.emit(eventType, present(target), { account, previous_attributes: previous });
    }
    return present(target);
  }
}
