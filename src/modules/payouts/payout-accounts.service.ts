import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { AuthPrincipal } from '../../common/auth';
import { principalsRepository } from '../accounts/principals.repository';
import { PayoutAccount } from './payout.entities';
import { PayoutsError } from './payouts.errors';
import { PayoutRail } from './rails/payout-rail';
import { PayoutRails } from './rails/payout-rails';

/**
 * Affiliates' payout accounts: onboarding on the default payout rail (Stripe Connect Express
 * today), and the account state the rail's events report.
 */
@Injectable()
export class PayoutAccountsService {
  private readonly logger = new Logger(PayoutAccountsService.name);

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly rails: PayoutRails,
  ) {}

  /** Creates the affiliate's account once (idempotent under retries) and a fresh onboarding link. */
  async onboard(actor: AuthPrincipal): Promise<{ accountId: string; url: string }> {
    this.rails.default.assertReady(); // the clear 503 first if the rail is not configured
    const affiliate = await principalsRepository.find(this.dataSource.manager, actor.id);
    if (affiliate?.status !== 'active') throw PayoutsError.affiliateNotActive();
    const repo = this.dataSource.getRepository(PayoutAccount);
    let account = await repo.findOneBy({ affiliateId: actor.id });
    if (!account) {
      const rail = this.rails.default;
      const externalAccountId = await rail.createAccount(affiliate);
      await repo.createQueryBuilder().insert().values({ affiliateId: affiliate.id, rail: rail.name, externalAccountId }).orIgnore().execute();
      account = await repo.findOneByOrFail({ affiliateId: actor.id });
      this.logger.log(`${account.rail} account ${account.externalAccountId} for affiliate ${affiliate.id}`);
    }
    const url = await this.rails.get(account.rail).onboardingUrl(account.externalAccountId);
    return { accountId: account.externalAccountId, url };
  }

  async status(affiliateId: string): Promise<PayoutAccount | null> {
    return this.dataSource.getRepository(PayoutAccount).findOneBy({ affiliateId });
  }

  /**
   * Applies the account's state as the rail holds it now. Events arrive late, twice and out of
   * order, several within the same second (their time cannot order them), so the event only
   * names the account; the row lock makes concurrent applications read the rail one after another.
   */
  async accountUpdated(manager: EntityManager, rail: PayoutRail, accountId: string, at: Date): Promise<string> {
    const [known] = await manager.query(`SELECT 1 FROM payout_accounts WHERE rail = $1 AND external_account_id = $2 FOR UPDATE`, [rail.name, accountId]);
    if (!known) return 'unknown account';
    const state = await rail.accountState(accountId);
    await manager.query(
      `UPDATE payout_accounts SET payouts_enabled = $3, details_submitted = $4, last_event_at = greatest(last_event_at, $5), updated_at = now()
        WHERE rail = $1 AND external_account_id = $2`,
      [rail.name, accountId, state.payoutsEnabled, state.detailsSubmitted, at],
    );
    return `payouts ${state.payoutsEnabled ? 'enabled' : 'disabled'}`;
  }
}
