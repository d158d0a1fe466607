import { Inject, Injectable, Provider } from '@nestjs/common';
import { PayoutRail } from './payout-rail';
import { StripePayoutRail } from './stripe/stripe-payout-rail';

/** Every payout rail this build knows; a new rail is added here (see ARCHITECTURE.md, "Payout rails"). */
const RAIL_CLASSES = [StripePayoutRail];

/** The rail new accounts are opened on. */
const DEFAULT_RAIL = 'stripe';

const PAYOUT_RAIL_LIST = Symbol('PAYOUT_RAIL_LIST');

/** The rails by name: what a stored `rail` column means, and where a new account goes. */
@Injectable()
export class PayoutRails {
  private readonly byName: ReadonlyMap<string, PayoutRail>;

  constructor(@Inject(PAYOUT_RAIL_LIST) rails: PayoutRail[]) {
    this.byName = new Map(rails.map((rail) => [rail.name, rail]));
    if (this.byName.size !== rails.length) throw new Error('two payout rails share a name');
    if (!this.byName.has(DEFAULT_RAIL)) throw new Error(`the default payout rail ${DEFAULT_RAIL} is not registered`);
  }

  /** The rail a stored row names; a name no rail answers to is a deployment error. */
  get(name: string): PayoutRail {
    const rail = this.byName.get(name);
    if (!rail) throw new Error(`no payout rail named ${JSON.stringify(name)} in this build`);
    return rail;
  }

  /** Where an affiliate without a payout destination is onboarded. */
  get default(): PayoutRail {
    return this.get(DEFAULT_RAIL);
  }

  all(): PayoutRail[] {
    return [...this.byName.values()];
  }
}

/** The providers of every rail and the registry, for a module that needs rails (payouts, `npm run reconcile`). */
export const PAYOUT_RAIL_PROVIDERS: Provider[] = [...RAIL_CLASSES, { provide: PAYOUT_RAIL_LIST, useFactory: (...rails: PayoutRail[]) => rails, inject: RAIL_CLASSES }, PayoutRails];
