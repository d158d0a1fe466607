import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { AuthPrincipal } from '../../common/auth';
import { principalsRepository } from '../principals/principals.repository';
import { PayoutDestination } from './payout.entities';
import { payoutsRepository } from './payouts.repository';
import { PayoutsError } from './payouts.errors';
import { PayoutRail } from './rails/payout-rail';
import { PayoutRails } from './rails/payout-rails';

/**
 * Affiliates' payout destinations (table `payout_accounts`): where a rail pays them, e.g. a
 * Stripe Connect Express account. Onboarding on the default payout rail, and the destination's
 * state the rail's events report.
 */
@Injectable()
export class PayoutDestinationsService {
  private readonly logger = new Logger(PayoutDestinationsService.name);

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly rails: PayoutRails,
  ) {}

  /** Creates the affiliate's destination once (idempotent under retries) and a fresh onboarding link. */
  async onboard(actor: AuthPrincipal): Promise<{ accountId: string; url: string }> {
    this.rails.default.assertReady(); // the clear 503 first if the rail is not configured
    const affiliate = await principalsRepository.find(this.dataSource.manager, actor.id);
    if (affiliate?.status !== 'active') throw PayoutsError.affiliateNotActive();
    const manager = this.dataSource.manager;
    let account = await payoutsRepository.findDestination(manager, actor.id);
    if (!account) {
      const rail = this.rails.default;
      const externalAccountId = await rail.createDestination(affiliate);
      await payoutsRepository.addDestination(manager, affiliate.id, rail.name, externalAccountId);
      account = (await payoutsRepository.findDestination(manager, actor.id)) as PayoutDestination;
      this.logger.log(`${account.rail} account ${account.externalAccountId} for affiliate ${affiliate.id}`);
    }
    const url = await this.rails.get(account.rail).onboardingUrl(account.externalAccountId);
    return { accountId: account.externalAccountId, url };
  }

  async status(affiliateId: string): Promise<PayoutDestination | null> {
    return payoutsRepository.findDestination(this.dataSource.manager, affiliateId);
  }

  /**
   * Applies the destination's state as the rail holds it now. Events arrive late, twice and out of
   * order, several within the same second (their time cannot order them), so the event only
   * names the destination; the row lock makes concurrent applications read the rail one after another.
   */
  async destinationUpdated(manager: EntityManager, rail: PayoutRail, accountId: string, at: Date): Promise<string> {
    if (!(await payoutsRepository.lockDestination(manager, rail.name, accountId))) return 'unknown account';
    const state = await rail.destinationState(accountId);
    await payoutsRepository.applyDestinationState(manager, rail.name, accountId, state, at);
    return `payouts ${state.payoutsEnabled ? 'enabled' : 'disabled'}`;
  }
}
