import { EntityManager } from 'typeorm';
import { LedgerAccountType } from '../../ledger/ledger-account.entity';

/**
 * A payout rail: how money reaches an affiliate (Stripe Connect today). Payout runs, onboarding,
 * reconciliation and statements talk to a rail, never to a provider's SDK; each rail lives in
 * `rails/<name>/` and is listed in `rails/payout-rails.ts` (see ARCHITECTURE.md, "Payout rails").
 * Amounts crossing this interface are ISO 4217 minor units, as in the ledger; a rail converts to
 * its provider's representation inside.
 */
export interface PayoutRail {
  /** Stored in `payout_accounts.rail` and `payouts.rail`; never renamed once rows carry it. */
  readonly name: string;
  /** How messages name it ("Stripe"). */
  readonly label: string;
  /** The network's ledger account the rail's money passes through (payouts out of it). */
  readonly clearingLedgerAccount: LedgerAccountType;
  /** Throws the clear 503 when the rail is not configured. */
  assertReady(): void;

  /** Whether the rail can pay out in this ISO currency at all. */
  supportsCurrency(currency: string): boolean;
  /** The part of `minor` the rail can transfer; the rest stays in the affiliate's balance. */
  carriable(minor: number, currency: string): number;

  /** Creates the affiliate's payout destination on the rail (Stripe: a connected account), once (idempotent under retries); returns its id on the rail. */
  createDestination(affiliate: { id: string; email: string }): Promise<string>;
  /** A fresh link where the affiliate completes the destination. */
  onboardingUrl(accountId: string): Promise<string>;
  /** The destination's state as the rail holds it now. */
  destinationState(accountId: string): Promise<RailDestinationState>;

  /**
   * Sends the payout's transfer, idempotent per payout (the same payout never makes two
   * transfers), tagged so `findTransfer(payout.id)` finds it.
   */
  transfer(payout: RailPayout): Promise<RailTransferResult>;
  /** The transfer the rail made for this payout, if any (our reference names the payout). */
  findTransfer(payoutId: string): Promise<RailTransfer | undefined>;
  /** Every transfer on the rail, for reconciliation. */
  listTransfers(): Promise<RailTransfer[]>;
  /**
   * The rail refused a transfer outright, so no money moved: the payout can fail with the money
   * back. Anything else leaves open whether it acted, and the transfer is retried and looked up.
   */
  isDefinitiveRefusal(error: unknown): boolean;
  /** A refusal's code and message, for the failed payout. */
  describeRefusal(error: unknown): { code: string; message: string };

  /**
   * The rail asked us to slow down (Stripe: a 429 `rate_limit`), so the request was not acted on:
   * answers how long to wait before sending it again (the rail's own `Retry-After` when it gives
   * one, else null for the caller's backoff); undefined for any other error.
   */
  rateLimited(error: unknown): number | null | undefined;

  /**
   * The payouts' transfers are now recorded: events about them that arrived before and were kept
   * for later are applied again, in the caller's transaction. Returns how many.
   */
  replayDeferred(manager: EntityManager, paid: { payoutId: string; transferId: string }[]): Promise<number>;

  /** Wires the rail's own events (webhooks) to the payouts module's handlers; called once. */
  listen(handlers: PayoutRailHandlers): void;
}

export interface RailDestinationState {
  payoutsEnabled: boolean;
  detailsSubmitted: boolean;
}

export interface RailPayout {
  id: string;
  affiliateId: string;
  currency: string;
  /** ISO minor units. */
  amount: number;
  externalAccountId: string;
}

/** A transfer made, or the amount not carriable exactly (planned before it was rounded). */
export type RailTransferResult = { transferId: string } | { notCarriable: true };

export interface RailTransfer {
  id: string;
  /** The payout it pays, from our reference on it; undefined for a transfer we did not make. */
  payoutId?: string;
  /** ISO minor units (the rail's own amount when the currency is not one it knows). */
  amount: number;
  /** ISO code, upper case. */
  currency: string;
  destination: string;
  reversed: boolean;
}

/** A transfer the rail took back, in whole or in part (a running total, like Stripe's `amount_reversed`). */
export interface RailTransferReversal {
  transferId: string;
  /** The payout id our reference on the transfer names, if any (before we recorded the transfer id). */
  payoutId?: string;
  /** What is reversed so far, ISO minor units. */
  amountReversed: number;
  /** The whole transfer is reversed. */
  fullyReversed: boolean;
  /** Identifies this reversal (one ledger entry each). */
  reversalId: string;
}

/** What a handler did, or that the event concerns a payout not recorded yet (kept and applied again later). */
export type RailEventOutcome = string | { deferred: string };

export interface PayoutRailHandlers {
  transferReversed(manager: EntityManager, rail: PayoutRail, reversal: RailTransferReversal): Promise<RailEventOutcome>;
  /** An account changed on the rail; the handler reads its state under its own lock. */
  destinationUpdated(manager: EntityManager, rail: PayoutRail, accountId: string, at: Date): Promise<string>;
}
