import { Injectable, Optional } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import Stripe from 'stripe';
import { EntityManager } from 'typeorm';
import { Config } from '../../../../config/configuration';
import { isDefinitiveRefusal, rateLimitedFor, StripeClient } from '../../../../integrations/stripe/stripe.client';
import { carriableMinor, fromStripeAmount, isStripeCurrency, toStripeAmount } from '../../../../integrations/stripe/stripe-amounts';
import { StripeEventsService } from '../../../../integrations/stripe/stripe-events.service';
import { PayoutRail, PayoutRailHandlers, RailDestinationState, RailPayout, RailTransfer, RailTransferResult } from '../payout-rail';

/** Our reference on a transfer: its group names the payout (found again before any retry). */
const transferGroup = (payoutId: string) => `payout_${payoutId}`;
const PAYOUT_ID = /^payout_([0-9a-f-]{36})$/;

/**
 * Stripe Connect: Express accounts, transfers from the platform balance, `transfer.reversed` and
 * `account.updated` events. The Stripe events that concern payouts are wired here, those that
 * concern invoices in billing (`InvoiceSettlementService`).
 */
@Injectable()
export class StripePayoutRail implements PayoutRail {
  readonly name = 'stripe';
  readonly label = 'Stripe';
  readonly clearingLedgerAccount = 'stripe_clearing' as const;
  private readonly baseUrl: string;

  constructor(
    private readonly stripe: StripeClient,
    config: ConfigService<Config, true>,
    // Absent in `npm run reconcile`, which only lists transfers.
    @Optional() private readonly events?: StripeEventsService,
  ) {
    this.baseUrl = config.get('app', { infer: true })?.publicBaseUrl ?? '';
  }

  assertReady(): void {
    // eslint-disable-next-line @typescript-eslint/no-unused-expressions -- the getter throws the clear 503 when Stripe is not configured
    this.stripe.api;
  }

  supportsCurrency(currency: string): boolean {
    return isStripeCurrency(currency);
  }

  carriable(minor: number, currency: string): number {
    return carriableMinor(minor, currency, 'transfer');
  }

  async createDestination(affiliate: { id: string; email: string }): Promise<string> {
    const created = await this.stripe.api.accounts.create(
      { type: 'express', email: affiliate.email, metadata: { affiliate_id: affiliate.id }, capabilities: { transfers: { requested: true } } },
      { idempotencyKey: `afx-account-${affiliate.id}` },
    );
    return created.id;
  }

  async onboardingUrl(accountId: string): Promise<string> {
    const link = await this.stripe.api.accountLinks.create({
      account: accountId,
      type: 'account_onboarding',
      refresh_url: `${this.baseUrl}/portal/payouts?onboarding=refresh`,
      return_url: `${this.baseUrl}/portal/payouts?onboarding=done`,
    });
    return link.url;
  }

  async destinationState(accountId: string): Promise<RailDestinationState> {
    const account = await this.stripe.api.accounts.retrieve(accountId);
    return { payoutsEnabled: account.payouts_enabled === true, detailsSubmitted: account.details_submitted === true };
  }

  async transfer(payout: RailPayout): Promise<RailTransferResult> {
    const api = this.stripe.api;
    const sent = toStripeAmount(payout.amount, payout.currency, 'transfer');
    if (sent.remainder) return { notCarriable: true };
    const transfer = await api.transfers.create(
      {
        amount: sent.amount,
        currency: payout.currency.toLowerCase(),
        destination: payout.externalAccountId,
        transfer_group: transferGroup(payout.id),
        metadata: { payout_id: payout.id, affiliate_id: payout.affiliateId },
      },
      { idempotencyKey: `afx-payout-${payout.id}` },
    );
    return { transferId: transfer.id };
  }

  async findTransfer(payoutId: string): Promise<RailTransfer | undefined> {
    const [found] = (await this.stripe.api.transfers.list({ transfer_group: transferGroup(payoutId), limit: 1 })).data;
    return found && toRailTransfer(found);
  }

  async listTransfers(): Promise<RailTransfer[]> {
    const transfers: RailTransfer[] = [];
    for await (const transfer of this.stripe.api.transfers.list({ limit: 100 })) transfers.push(toRailTransfer(transfer));
    return transfers;
  }

  isDefinitiveRefusal(error: unknown): boolean {
    return isDefinitiveRefusal(error);
  }

  describeRefusal(error: unknown): { code: string; message: string } {
    const e = error as Stripe.errors.StripeError;
    return { code: e.code ?? e.type ?? 'transfer_failed', message: e.message ?? String(error) };
  }

  rateLimited(error: unknown): number | null | undefined {
    return rateLimitedFor(error);
  }

  replayDeferred(manager: EntityManager, paid: { payoutId: string; transferId: string }[]): Promise<number> {
    return this.requireEvents().reapply(
      manager,
      'payout_id',
      paid.map((p) => ({ objectId: p.transferId, value: p.payoutId, cause: `paid-${p.payoutId}` })),
    );
  }

  listen(handlers: PayoutRailHandlers): void {
    const events = this.requireEvents();
    /*
     * Stripe sends `transfer.reversed` for partial reversals too, with the transfer's running
     * `amount_reversed`; the reversal's id is the newest one on the transfer.
     */
    events.on('payouts', 'transfer.reversed', (manager, event) => {
      const transfer = event.data.object as Stripe.Transfer;
      const currency = transfer.currency.toUpperCase();
      return handlers.transferReversed(manager, this, {
        transferId: transfer.id,
        payoutId: transfer.metadata?.payout_id,
        amountReversed: isStripeCurrency(currency) ? fromStripeAmount(transfer.amount_reversed, currency) : transfer.amount_reversed,
        fullyReversed: transfer.reversed,
        reversalId: transfer.reversals?.data?.[0]?.id ?? event.id,
      });
    });
    // The event only names the account: its state is read from Stripe under the handler's lock.
    events.on('payouts', 'account.updated', (manager, event) =>
      handlers.destinationUpdated(manager, this, (event.data.object as Stripe.Account).id, new Date(event.created * 1000)),
    );
  }

  private requireEvents(): StripeEventsService {
    if (!this.events) throw new Error('Stripe events are not available in this process');
    return this.events;
  }
}

function toRailTransfer(transfer: Stripe.Transfer): RailTransfer {
  const currency = transfer.currency.toUpperCase();
  return {
    id: transfer.id,
    payoutId: transfer.metadata?.payout_id ?? PAYOUT_ID.exec(transfer.transfer_group ?? '')?.[1],
    amount: isStripeCurrency(currency) ? fromStripeAmount(transfer.amount, currency) : transfer.amount,
    currency,
    destination: typeof transfer.destination === 'string' ? transfer.destination : (transfer.destination?.id ?? ''),
    reversed: transfer.reversed,
  };
}
