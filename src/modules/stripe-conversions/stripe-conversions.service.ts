import { HttpStatus, Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import { createHash } from 'node:crypto';
import Stripe from 'stripe';
import { DataSource, EntityManager } from 'typeorm';
import { AuthPrincipal } from '../../common/auth';
import { AppError, invalidField, NotFoundError, ServiceUnavailableError } from '../../common/errors';
import { Config } from '../../config/configuration';
import { fromStripeAmount } from '../../integrations/stripe/stripe-amounts';
import { StripeClient } from '../../integrations/stripe/stripe.client';
import { OutboxService } from '../../queue/outbox/outbox.service';
import { Conversion } from '../conversions/conversion.entity';
import { conversionsRepository } from '../conversions/conversions.repository';
import { Actor, ConversionsService } from '../conversions/conversions.service';
import { AdjustmentsService } from '../ledger/adjustments.service';
import { OffersService } from '../offers/offers.service';
import { PutStripeIntegrationDto } from './dto/stripe-integration.dto';
import { StripeIntegration, StripeIntegrationEvent, StripeIntegrationRefund } from './stripe-integration.entities';

/** The events an advertiser enables on the endpoint it registers in its Stripe account. */
export const STRIPE_CONVERSION_EVENTS = ['checkout.session.completed', 'checkout.session.async_payment_succeeded', 'invoice.paid', 'charge.refunded'] as const;

const ACTOR: Actor = { type: 'system', id: null };
const TAKEN_BACK = new Set<Conversion['status']>(['pending', 'approved', 'paid']);

/** What a sale event did, and the payment references a later refund may name (pointing at the conversion, or at another reference). */
interface Sale {
  outcome: string;
  target?: { conversionId?: string; via?: string };
  refs?: (string | null)[];
}

/** Thrown to roll back the writes of a delivery that a twin delivery applied first. */
class RolledBack extends Error {}

export interface StripeReceipt {
  received: true;
  duplicate: boolean;
  outcome: string;
}

/** payout × refunded / sale, rounded half up, in exact integer arithmetic. */
export function refundedShare(payout: number, refunded: number, sale: number): number {
  const [p, r, s] = [BigInt(payout), BigInt(refunded), BigInt(sale)];
  return Number((2n * p * r + s) / (2n * s));
}

/** A uuid derived from `parts`: the same refund step always names the same adjustment, so a repeat posts nothing. */
function derivedId(...parts: string[]): string {
  const hex = createHash('sha256').update(parts.join('\u0000')).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${((parseInt(hex[16], 16) & 3) | 8).toString(16)}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

const idOf = (value: string | { id: string } | null | undefined): string | null => (typeof value === 'string' ? value : (value?.id ?? null));

/**
 * Stripe-native conversions (README, "Stripe-native conversions"): an advertiser's own Stripe
 * account posts its events to an endpoint of its own; each event is verified with that
 * advertiser's secret and applied once. A paid Checkout Session carrying our click id or an
 * affiliate's coupon is a conversion; a subscription's renewal is a conversion of its
 * customer; a refund reverses the conversion (whole) or takes the refunded share off its
 * commission with a ledger adjustment (part).
 */
@Injectable()
export class StripeConversionsService {
  private readonly logger = new Logger(StripeConversionsService.name);
  private readonly publicBaseUrl: string;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    config: ConfigService<Config, true>,
    private readonly offers: OffersService,
    private readonly conversions: ConversionsService,
    private readonly adjustments: AdjustmentsService,
    private readonly stripe: StripeClient,
    private readonly outbox: OutboxService,
  ) {
    this.publicBaseUrl = config.get('app', { infer: true }).publicBaseUrl;
  }

  endpointUrl(advertiserId: string): string {
    return `${this.publicBaseUrl}/webhooks/advertisers/${advertiserId}/stripe`;
  }

  /** Connects (or reconnects) the advertiser's Stripe account: its own offer (another's: 404) and one of the offer's goals. */
  async connect(actor: AuthPrincipal, dto: PutStripeIntegrationDto): Promise<StripeIntegration> {
    const manager = this.dataSource.manager;
    const offer = await this.offers.findOwned(manager, actor, dto.offerId.toLowerCase(), false);
    const { goals } = await this.offers.load(manager, offer.id);
    if (!goals.some((g) => g.key === dto.goal)) throw invalidField('goal', `is not a goal of offer ${offer.id} (${goals.map((g) => g.key).join(', ')})`);
    await manager.query(
      `INSERT INTO stripe_integrations (advertiser_id, offer_id, goal_key, webhook_secret, api_key) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (advertiser_id) DO UPDATE SET offer_id = EXCLUDED.offer_id, goal_key = EXCLUDED.goal_key, webhook_secret = EXCLUDED.webhook_secret,
         api_key = EXCLUDED.api_key, updated_at = now()`,
      [actor.id, offer.id, dto.goal, dto.webhookSecret, dto.apiKey ?? null],
    );
    return manager.findOneByOrFail(StripeIntegration, { advertiserId: actor.id });
  }

  async get(advertiserId: string): Promise<StripeIntegration> {
    const found = await this.dataSource.getRepository(StripeIntegration).findOneBy({ advertiserId });
    if (!found) throw new NotFoundError('Stripe integration');
    return found;
  }

  /**
   * The endpoint: verifies the signature over the raw body with the advertiser's secret (a
   * missing, wrong or stale one is a 400), then applies the event once: the event's row is
   * written in the transaction of what it changed, so of concurrent deliveries one commits and
   * the others roll back and answer `duplicate`. Bad content (a refund beyond the sale) is a 400
   * and leaves nothing behind.
   */
  async receive(advertiserId: string, rawBody: Buffer | undefined, signature: string | undefined): Promise<StripeReceipt> {
    const integration = await this.dataSource.getRepository(StripeIntegration).findOneBy({ advertiserId });
    if (!integration) throw new NotFoundError('Stripe integration');
    if (!rawBody) throw new AppError('bad_request', HttpStatus.BAD_REQUEST, 'A JSON body is required');
    if (!signature) throw new AppError('invalid_signature', HttpStatus.BAD_REQUEST, 'The Stripe-Signature header is missing');
    let event: Stripe.Event;
    try {
      event = Stripe.webhooks.constructEvent(rawBody, signature, integration.webhookSecret);
    } catch {
      throw new AppError('invalid_signature', HttpStatus.BAD_REQUEST, 'The Stripe signature does not match this payload, or is too old');
    }
    const seen = await this.dataSource.getRepository(StripeIntegrationEvent).findOneBy({ advertiserId, eventId: event.id });
    if (seen) return { received: true, duplicate: true, outcome: seen.outcome };
    const applied = await this.apply(integration, event);
    if (applied.duplicate) return { received: true, duplicate: true, outcome: applied.outcome };
    this.outbox.notify();
    this.logger.log(`advertiser ${advertiserId} stripe event ${event.id} ${event.type}: ${applied.outcome}`);
    return { received: true, duplicate: false, outcome: applied.outcome };
  }

  /**
   * Records the event as applied, in the transaction of what it wrote; false when a concurrent
   * delivery of the same event got there first (that one's writes stand, and this one's roll back).
   */
  private async markApplied(manager: EntityManager, advertiserId: string, event: Stripe.Event, outcome: string): Promise<boolean> {
    const [row] = await manager.query(`INSERT INTO stripe_integration_events (advertiser_id, event_id, type, outcome) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING 1`, [
      advertiserId,
      event.id,
      event.type,
      outcome.slice(0, 500),
    ]);
    return Boolean(row);
  }

  /**
   * Applies one event. Sales record their conversion first (idempotent by the txn id: a second
   * delivery finds it), then remember its payments with the event in one short transaction;
   * a refund does all it writes in one transaction on one connection. Nothing holds a
   * connection while waiting for another.
   */
  private async apply(integration: StripeIntegration, event: Stripe.Event): Promise<{ outcome: string; duplicate: boolean }> {
    const write = async (work: (manager: EntityManager) => Promise<string>) => {
      let duplicate = false;
      let outcome = '';
      await this.dataSource
        .transaction(async (manager) => {
          outcome = await work(manager);
          duplicate = !(await this.markApplied(manager, integration.advertiserId, event, outcome));
          // A twin delivery applied it while this one ran: roll this one's writes back.
          if (duplicate) throw new RolledBack();
        })
        .catch((error) => {
          if (!(error instanceof RolledBack)) throw error;
        });
      return { outcome, duplicate };
    };
    switch (event.type) {
      case 'checkout.session.completed':
      case 'checkout.session.async_payment_succeeded': {
        const sale = await this.sessionPaid(integration, event.data.object);
        return write((manager) => this.rememberSale(manager, integration, sale));
      }
      case 'invoice.paid': {
        const sale = await this.invoicePaid(integration, event.data.object);
        return write((manager) => this.rememberSale(manager, integration, sale));
      }
      case 'charge.refunded':
        return write((manager) => this.chargeRefunded(manager, integration, event.data.object));
      default:
        return write(async () => 'ignored');
    }
  }

  private async rememberSale(manager: EntityManager, integration: StripeIntegration, sale: Sale): Promise<string> {
    await this.remember(manager, integration.advertiserId, sale.target ?? {}, sale.refs ?? []);
    return sale.outcome;
  }

  /** A paid session with our click id (client_reference_id or metadata.afx_click_id) or an affiliate's coupon (its promotion code) converts. */
  private async sessionPaid(integration: StripeIntegration, session: Stripe.Checkout.Session): Promise<Sale> {
    if (session.payment_status === 'unpaid') return { outcome: 'not paid yet (an async payment succeeds later)' };
    const clickId = session.client_reference_id ?? session.metadata?.afx_click_id ?? null;
    const coupon = (await this.promotionCode(integration, session)) ?? session.metadata?.afx_coupon ?? null;
    if (!clickId && !coupon) {
      const unread = promotionCodeOf(session);
      if (typeof unread === 'string') return { outcome: `promotion code ${unread} left unread (no apiKey to read it): not attributed` };
      return { outcome: 'no click id and no coupon: not an affiliate sale' };
    }
    const conversion = await this.record(integration, {
      txnId: session.id,
      clickId,
      coupon,
      amount: session.amount_total,
      currency: session.currency,
      customerId: idOf(session.customer),
    });
    return { outcome: `conversion ${conversion.id} ${conversion.status}`, target: { conversionId: conversion.id }, refs: [idOf(session.payment_intent), idOf(session.invoice)] };
  }

  /**
   * A subscription's renewal is a conversion of its customer (no click: the customer's first
   * affiliate, where recurring commissions apply). The first invoice is the Checkout Session's
   * own payment, which converts as the session.
   */
  private async invoicePaid(integration: StripeIntegration, invoice: Stripe.Invoice): Promise<Sale> {
    const legacy = invoice as Stripe.Invoice & { subscription?: string | { id: string } | null; payment_intent?: string | { id: string } | null };
    const subscription = idOf(invoice.parent?.subscription_details?.subscription) ?? idOf(legacy.subscription);
    if (!subscription) return { outcome: 'not a subscription invoice' };
    const intents = [idOf(legacy.payment_intent), ...(invoice.payments?.data ?? []).map((p) => idOf(p.payment?.payment_intent))];
    if (invoice.billing_reason === 'subscription_create') {
      // A refund of this payment names its payment intent: it leads to the invoice, which the session's conversion is remembered under.
      return { outcome: 'the first invoice of a subscription: its Checkout Session is the conversion', target: { via: invoice.id as string }, refs: intents };
    }
    const conversion = await this.record(integration, {
      txnId: invoice.id as string,
      clickId: null,
      coupon: null,
      amount: invoice.amount_paid,
      currency: invoice.currency,
      customerId: idOf(invoice.customer),
    });
    return {
      outcome: `conversion ${conversion.id} ${conversion.status}${conversion.affiliateId ? '' : ` (${conversion.reason ?? 'unattributed'})`}`,
      target: { conversionId: conversion.id },
      refs: [invoice.id as string, ...intents],
    };
  }

  /**
   * A refund of the charge of a converted payment: whole, the conversion is reversed (and
   * what earlier partial refunds took off is given back, the reversal takes it all); part,
   * the refunded share of the payout (cumulative, half up) is taken off with an adjustment.
   */
  private async chargeRefunded(manager: EntityManager, integration: StripeIntegration, charge: Stripe.Charge): Promise<string> {
    const legacyInvoice = idOf((charge as Stripe.Charge & { invoice?: string | { id: string } | null }).invoice);
    const refs = [legacyInvoice, idOf(charge.payment_intent)].filter((r): r is string => !!r);
    const [payment] = refs.length
      ? await manager.query(
          `SELECT coalesce(p.conversion_id, v.conversion_id) AS conversion_id
             FROM stripe_integration_payments p
             LEFT JOIN stripe_integration_payments v ON v.advertiser_id = p.advertiser_id AND v.ref = p.via
            WHERE p.advertiser_id = $1 AND p.ref = ANY($2) AND coalesce(p.conversion_id, v.conversion_id) IS NOT NULL LIMIT 1`,
          [integration.advertiserId, refs],
        )
      : [];
    if (!payment) return `no conversion for charge ${charge.id}`;
    // Refunds of one charge take turns (each reads what the last took off); then the conversion, then (adjustments) the affiliate's accounts.
    await manager.query(`SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, [`stripe-refund:${integration.advertiserId}:${charge.id}`]);
    const conversion = await conversionsRepository.lockOne(manager, { id: payment.conversion_id });
    if (!conversion) return `no conversion for charge ${charge.id}`;
    const currency = charge.currency.toUpperCase();
    const refunded = fromStripeAmount(charge.amount_refunded, currency);
    const sale = conversion.saleAmount ?? fromStripeAmount(charge.amount, currency);
    if (refunded > sale) {
      throw new AppError('refund_exceeds_sale', HttpStatus.BAD_REQUEST, `The refund (${refunded}) is larger than the sale (${sale}, ${conversion.currency} minor units)`, [
        { field: 'data.object.amount_refunded', message: `${refunded} exceeds the sale amount ${sale}` },
      ]);
    }
    if (!TAKEN_BACK.has(conversion.status)) return `nothing to take back: conversion ${conversion.id} is ${conversion.status}`;
    const earlier = await manager.findOneBy(StripeIntegrationRefund, { advertiserId: integration.advertiserId, chargeId: charge.id });
    const reducedBefore = earlier?.commissionReduced ?? 0;
    let reduced = reducedBefore;
    let outcome: string;
    if (refunded >= sale) {
      await this.conversions.applyTransition(manager, conversion, 'reversed', ACTOR, `refunded in Stripe (charge ${charge.id})`);
      if (reducedBefore > 0)
        await this.adjust(manager, integration, conversion, charge.id, 'full', reducedBefore, `the reversal of conversion ${conversion.id} takes its whole commission back`);
      reduced = 0;
      outcome = `conversion ${conversion.id} reversed`;
    } else {
      const target = conversion.affiliateId ? refundedShare(conversion.payout, refunded, sale) : 0;
      if (target > reducedBefore) {
        await this.adjust(
          manager,
          integration,
          conversion,
          charge.id,
          String(refunded),
          reducedBefore - target,
          `partial refund in Stripe: ${refunded} of ${sale} refunded on conversion ${conversion.id}`,
        );
        reduced = target;
      }
      outcome = `conversion ${conversion.id}: ${refunded} of ${sale} refunded, commission reduced by ${reduced}`;
    }
    await manager.query(
      `INSERT INTO stripe_integration_refunds (advertiser_id, charge_id, conversion_id, refunded, commission_reduced) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (advertiser_id, charge_id) DO UPDATE SET refunded = EXCLUDED.refunded, commission_reduced = EXCLUDED.commission_reduced, updated_at = now()`,
      [integration.advertiserId, charge.id, conversion.id, refunded, reduced],
    );
    return outcome;
  }

  /**
   * The code of the session's promotion code, compared with the affiliates' coupons: read from
   * the advertiser's account with its restricted key when the event names only its id (a failing
   * read is a 503: Stripe delivers the event again later). Without a key, no code.
   */
  private async promotionCode(integration: StripeIntegration, session: Stripe.Checkout.Session): Promise<string | null> {
    const promo = promotionCodeOf(session);
    if (promo === null || typeof promo !== 'string') return promo?.code ?? null;
    if (!integration.apiKey) return null;
    try {
      return (await this.stripe.forKey(integration.apiKey).promotionCodes.retrieve(promo)).code;
    } catch (error) {
      throw new ServiceUnavailableError('stripe_unavailable', `The promotion code ${promo} could not be read from your Stripe account: ${(error as Error).message}`);
    }
  }

  private async record(
    integration: StripeIntegration,
    sale: { txnId: string; clickId: string | null; coupon: string | null; amount: number | null; currency: string | null; customerId: string | null },
  ): Promise<Conversion> {
    const currency = sale.currency?.toUpperCase() ?? null;
    const { conversion } = await this.conversions.record(
      {
        advertiserId: integration.advertiserId,
        source: 'api',
        goal: integration.goalKey,
        txnId: sale.txnId,
        clickId: sale.clickId,
        coupon: sale.coupon,
        amount: sale.amount !== null && currency ? { minor: fromStripeAmount(sale.amount, currency) } : null,
        currency,
        customerId: sale.customerId,
      },
      ACTOR,
    );
    return conversion;
  }

  /** The payment references (payment intents, invoices) a refund may name, each pointing at the conversion (or at another reference that does). */
  private async remember(manager: EntityManager, advertiserId: string, target: { conversionId?: string; via?: string }, refs: (string | null)[]): Promise<void> {
    const known = [...new Set(refs.filter((r): r is string => !!r))];
    if (known.length === 0) return;
    await manager.query(
      `INSERT INTO stripe_integration_payments (advertiser_id, ref, conversion_id, via) SELECT $1, ref, $3, $4 FROM unnest($2::text[]) AS ref
       ON CONFLICT (advertiser_id, ref) DO UPDATE SET conversion_id = coalesce(stripe_integration_payments.conversion_id, EXCLUDED.conversion_id)`,
      [advertiserId, known, target.conversionId ?? null, target.via ?? null],
    );
  }

  /** One ledger adjustment of the affiliate's balance, in the refund's transaction, keyed by the refund step (a repeat posts nothing). */
  private async adjust(
    manager: EntityManager,
    integration: StripeIntegration,
    conversion: Conversion,
    chargeId: string,
    step: string,
    amount: number,
    reason: string,
  ): Promise<void> {
    if (!conversion.affiliateId || amount === 0) return;
    await this.adjustments.postIn(manager, integration.advertiserId, {
      id: derivedId('stripe-refund', integration.advertiserId, chargeId, step),
      affiliateId: conversion.affiliateId,
      currency: conversion.currency as string,
      amount,
      reason,
    });
  }
}

/** The session's promotion code as Stripe sends it: an id (`promo_…`), or the object when expanded. */
function promotionCodeOf(session: Stripe.Checkout.Session): string | Stripe.PromotionCode | null {
  for (const discount of session.discounts ?? []) if (discount.promotion_code) return discount.promotion_code;
  return null;
}
