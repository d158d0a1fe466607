/**
 * An advertiser's own sales, as its Stripe account sees them: promotion codes, Checkout Sessions
 * (paid at once when completed), subscriptions renewed by paid invoices, charges and refunds.
 * Completing a session, renewing a subscription and refunding emit the events Stripe sends
 * (`checkout.session.completed`, `invoice.paid`, `charge.refunded`), signed by the emulator's
 * webhook dispatcher. Amounts are in Stripe's representation of the currency.
 */
import type Stripe from 'stripe';
import { errors, invalidRequest, type Params } from './http';
import { clone, Collection, newId, now, type StripeStore } from './store';

export interface PromotionCode {
  id: string;
  object: 'promotion_code';
  code: string;
  coupon: string | null;
  active: boolean;
  metadata: Record<string, string>;
  created: number;
  livemode: false;
}

export type CheckoutSession = Pick<
  Stripe.Checkout.Session,
  'id' | 'object' | 'mode' | 'status' | 'payment_status' | 'client_reference_id' | 'currency' | 'amount_total' | 'amount_subtotal' | 'created' | 'livemode' | 'url'
> & {
  customer: string | null;
  payment_intent: string | null;
  subscription: string | null;
  invoice: string | null;
  metadata: Record<string, string>;
  discounts: { coupon: string | null; promotion_code: string | null }[];
  success_url: string | null;
};

export interface Charge {
  id: string;
  object: 'charge';
  amount: number;
  amount_captured: number;
  amount_refunded: number;
  currency: string;
  customer: string | null;
  payment_intent: string;
  paid: true;
  refunded: boolean;
  status: 'succeeded';
  created: number;
  livemode: false;
  metadata: Record<string, string>;
}

export interface Refund {
  id: string;
  object: 'refund';
  amount: number;
  charge: string;
  payment_intent: string;
  currency: string;
  status: 'succeeded';
  reason: string | null;
  created: number;
  metadata: Record<string, string>;
}

export interface Subscription {
  id: string;
  object: 'subscription';
  customer: string;
  currency: string;
  amount: number;
  status: 'active';
  created: number;
  metadata: Record<string, string>;
}

type Route = (method: string, pattern: string, known: readonly string[], handler: (ctx: { params: Params; path: Record<string, string> }) => unknown) => unknown;

export class MerchantSales {
  readonly promotionCodes = new Collection<PromotionCode>('promotion_code');
  readonly sessions = new Collection<CheckoutSession>('checkout.session');
  readonly charges = new Collection<Charge>('charge');
  readonly refunds = new Collection<Refund>('refund');
  readonly subscriptions = new Collection<Subscription>('subscription');

  constructor(private readonly store: StripeStore) {}

  createPromotionCode(input: { code: string; coupon?: string; metadata?: Record<string, string> }): PromotionCode {
    if (this.promotionCodes.all().some((p) => p.code.toLowerCase() === input.code.toLowerCase())) {
      throw invalidRequest(400, `An active promotion code with \`code: ${input.code}\` already exists.`, { param: 'code' });
    }
    return clone(
      this.promotionCodes.add({
        id: newId('promo'),
        object: 'promotion_code',
        code: input.code,
        coupon: input.coupon ?? null,
        active: true,
        metadata: input.metadata ?? {},
        created: now(),
        livemode: false,
      }),
    );
  }

  /** An open session for one line (`amount` in Stripe's units); a new customer unless one is given. */
  createSession(input: {
    mode: 'payment' | 'subscription';
    amount: number;
    currency: string;
    customer?: string;
    client_reference_id?: string;
    metadata?: Record<string, string>;
    promotion_code?: string;
    success_url?: string;
  }): CheckoutSession {
    if (input.promotion_code) this.promotionCodes.get(input.promotion_code, 'discounts[0][promotion_code]');
    const customer = input.customer ?? this.store.createCustomer({}).id;
    const session: CheckoutSession = {
      id: newId('cs_test', 58),
      object: 'checkout.session',
      mode: input.mode,
      status: 'open',
      payment_status: 'unpaid',
      client_reference_id: input.client_reference_id ?? null,
      currency: input.currency,
      amount_subtotal: input.amount,
      amount_total: input.amount,
      created: now(),
      livemode: false,
      url: `${this.store.baseUrl}/checkout/pay`,
      customer,
      payment_intent: null,
      subscription: null,
      invoice: null,
      metadata: input.metadata ?? {},
      discounts: input.promotion_code ? [{ coupon: null, promotion_code: input.promotion_code }] : [],
      success_url: input.success_url ?? null,
    };
    return clone(this.sessions.add(session));
  }

  /**
   * The customer pays: a payment intent and its charge; a subscription session also starts the
   * subscription and pays its first invoice (`billing_reason: subscription_create`).
   */
  completeSession(id: string): CheckoutSession {
    const session = this.sessions.get(id);
    if (session.status !== 'open') throw invalidRequest(400, `Checkout Session ${id} is ${session.status}`);
    session.status = 'complete';
    session.payment_status = 'paid';
    if (session.mode === 'subscription') {
      const subscription = this.subscriptions.add({
        id: newId('sub'),
        object: 'subscription',
        customer: session.customer as string,
        currency: session.currency as string,
        amount: session.amount_total as number,
        status: 'active',
        created: now(),
        metadata: {},
      });
      session.subscription = subscription.id;
      session.invoice = this.payCycle(subscription, 'subscription_create').id;
    } else {
      session.payment_intent = this.charge(session.customer, session.currency as string, session.amount_total as number).payment_intent;
    }
    this.store.emit('checkout.session.completed', clone(session));
    return clone(session);
  }

  /** The next period of a subscription: a paid invoice (`billing_reason: subscription_cycle`). */
  renewSubscription(id: string): Stripe.Invoice {
    return this.payCycle(this.subscriptions.get(id), 'subscription_cycle');
  }

  /** Refunds `amount` (default: what is left) of a charge or payment intent's charge; emits `charge.refunded`. */
  refund(input: { charge?: string; payment_intent?: string; amount?: number; reason?: string; metadata?: Record<string, string> }): Refund {
    const charge = input.charge ? this.charges.get(input.charge, 'charge') : this.charges.all().find((c) => c.payment_intent === input.payment_intent);
    if (!charge) throw errors.missing('charge');
    const left = charge.amount - charge.amount_refunded;
    const amount = input.amount ?? left;
    if (amount <= 0 || amount > left) {
      throw invalidRequest(400, `Refund amount (${amount}) is greater than unrefunded amount on charge (${left})`, { param: 'amount' });
    }
    charge.amount_refunded += amount;
    charge.refunded = charge.amount_refunded === charge.amount;
    const refund = this.refunds.add({
      id: newId('re'),
      object: 'refund',
      amount,
      charge: charge.id,
      payment_intent: charge.payment_intent,
      currency: charge.currency,
      status: 'succeeded',
      reason: input.reason ?? null,
      created: now(),
      metadata: input.metadata ?? {},
    });
    this.store.emit('refund.created', clone(refund));
    this.store.emit('charge.refunded', clone(charge), { previous_attributes: { amount_refunded: charge.amount_refunded - amount } });
    return clone(refund);
  }

  private charge(customer: string | null, currency: string, amount: number): Charge {
    return this.charges.add({
      id: newId('ch'),
      object: 'charge',
      amount,
      amount_captured: amount,
      amount_refunded: 0,
      currency,
      customer,
      payment_intent: newId('pi'),
      paid: true,
      refunded: false,
      status: 'succeeded',
      created: now(),
      livemode: false,
      metadata: {},
    });
  }

  /** A subscription invoice, paid by a new charge: as the API shows it since invoices carry `parent` and `payments`. */
  private payCycle(subscription: Subscription, reason: 'subscription_create' | 'subscription_cycle'): Stripe.Invoice {
    const draft = this.store.createInvoice({ customer: subscription.customer, currency: subscription.currency, auto_advance: false });
    const invoice = this.store.invoices.get(draft.id);
    const charge = this.charge(subscription.customer, subscription.currency, subscription.amount);
    const fields = invoice as unknown as Record<string, unknown>;
    fields.billing_reason = reason;
    fields.parent = { type: 'subscription_details', quote_details: null, subscription_details: { subscription: subscription.id, metadata: { ...subscription.metadata } } };
    fields.payments = {
      object: 'list',
      data: [
        {
          id: newId('inpay'),
          object: 'invoice_payment',
          amount_paid: subscription.amount,
          currency: subscription.currency,
          invoice: invoice.id,
          is_default: true,
          payment: { type: 'payment_intent', payment_intent: charge.payment_intent },
          status: 'paid',
        },
      ],
      has_more: false,
      url: `/v1/invoice_payments?invoice=${invoice.id}`,
    };
    this.store.createInvoiceItem({
      customer: subscription.customer,
      amount: subscription.amount,
      currency: subscription.currency,
      invoice: invoice.id,
      description: 'Subscription',
    });
    this.store.finalizeInvoice(invoice.id);
    return this.store.payInvoice(invoice.id) as unknown as Stripe.Invoice;
  }
}

/** `/v1/promotion_codes`, `/v1/checkout/sessions`, `/v1/refunds` and their reads. */
export function addMerchantRoutes(route: Route, sales: MerchantSales): void {
  route('POST', '/v1/promotion_codes', ['code', 'coupon', 'promotion', 'metadata', 'active', 'customer', 'expires_at', 'max_redemptions', 'restrictions'], ({ params: p }) => {
    const promotion = p.object('promotion');
    const coupon = p.string('coupon') ?? (typeof promotion?.coupon === 'string' ? promotion.coupon : undefined);
    return sales.createPromotionCode({ code: p.requiredString('code'), coupon, metadata: (p.metadata() ?? undefined) as Record<string, string> | undefined });
  });
  route('GET', '/v1/promotion_codes/:id', [], ({ path }) => clone(sales.promotionCodes.get(path.id)));
  route(
    'POST',
    '/v1/checkout/sessions',
    ['mode', 'line_items', 'client_reference_id', 'customer', 'customer_email', 'metadata', 'discounts', 'success_url', 'cancel_url', 'currency', 'allow_promotion_codes'],
    ({ params: p }) => {
      const item = (p.object('line_items') ?? {})['0'];
      const data = typeof item === 'object' ? item.price_data : undefined;
      if (typeof item !== 'object' || typeof data !== 'object' || typeof data.unit_amount !== 'string' || typeof data.currency !== 'string') {
        throw errors.missing('line_items[0][price_data]');
      }
      const quantity = typeof item.quantity === 'string' ? Number(item.quantity) : 1;
      const discount = (p.object('discounts') ?? {})['0'];
      return sales.createSession({
        mode: p.oneOf('mode', ['payment', 'subscription'] as const, { required: true }),
        amount: Number(data.unit_amount) * quantity,
        currency: data.currency.toLowerCase(),
        customer: p.string('customer'),
        client_reference_id: p.string('client_reference_id'),
        metadata: (p.metadata() ?? undefined) as Record<string, string> | undefined,
        promotion_code: typeof discount === 'object' && typeof discount.promotion_code === 'string' ? discount.promotion_code : undefined,
        success_url: p.string('success_url'),
      });
    },
  );
  route('GET', '/v1/checkout/sessions/:id', [], ({ path }) => clone(sales.sessions.get(path.id)));
  route(
    'POST',
    '/v1/refunds',
    ['charge', 'payment_intent', 'amount', 'reason', 'metadata', 'instructions_email', 'origin', 'refund_application_fee', 'reverse_transfer'],
    ({ params: p }) =>
      sales.refund({
        charge: p.string('charge'),
        payment_intent: p.string('payment_intent'),
        amount: p.integer('amount', { min: 1 }),
        reason: p.string('reason'),
        metadata: (p.metadata() ?? undefined) as Record<string, string> | undefined,
      }),
  );
  route('GET', '/v1/charges/:id', [], ({ path }) => clone(sales.charges.get(path.id)));
  route('GET', '/v1/subscriptions/:id', [], ({ path }) => clone(sales.subscriptions.get(path.id)));
}
