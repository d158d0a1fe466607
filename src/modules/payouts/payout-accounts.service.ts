import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import Stripe from 'stripe';
import { DataSource, EntityManager } from 'typeorm';
import { AuthPrincipal } from '../../common/auth';
import { Config } from '../../config/configuration';
import { StripeClient } from '../../integrations/stripe/stripe.client';
import { StripeEventsService } from '../../integrations/stripe/stripe-events.service';
import { Principal } from '../accounts/principal.entity';
import { PayoutAccount } from './payout.entities';
import { PayoutsError } from './payouts.errors';

/** Stripe Connect Express onboarding for affiliates, and the account state webhooks report. */
@Injectable()
export class PayoutAccountsService implements OnModuleInit {
  private readonly logger = new Logger(PayoutAccountsService.name);
  private readonly baseUrl: string;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly stripe: StripeClient,
    private readonly events: StripeEventsService,
    config: ConfigService<Config, true>,
  ) {
    this.baseUrl = config.get('app', { infer: true }).publicBaseUrl;
  }

  onModuleInit(): void {
    this.events.on('account.updated', (manager, event) => this.accountUpdated(manager, event));
  }

  /** Creates the affiliate's connected account once (idempotent under retries) and a fresh onboarding link. */
  async onboard(actor: AuthPrincipal): Promise<{ accountId: string; url: string }> {
    const api = this.stripe.api;
    const affiliate = await this.dataSource.getRepository(Principal).findOneByOrFail({ id: actor.id });
    if (affiliate.status !== 'active') throw PayoutsError.affiliateNotActive();
    const repo = this.dataSource.getRepository(PayoutAccount);
    let account = await repo.findOneBy({ affiliateId: actor.id });
    if (!account) {
      const created = await api.accounts.create(
        { type: 'express', email: affiliate.email, metadata: { affiliate_id: affiliate.id }, capabilities: { transfers: { requested: true } } },
        { idempotencyKey: `afx-account-${affiliate.id}` },
      );
      await repo.createQueryBuilder().insert().values({ affiliateId: affiliate.id, stripeAccountId: created.id }).orIgnore().execute();
      account = await repo.findOneByOrFail({ affiliateId: actor.id });
      this.logger.log(`connected account ${account.stripeAccountId} for affiliate ${affiliate.id}`);
    }
    const link = await api.accountLinks.create({
      account: account.stripeAccountId,
      type: 'account_onboarding',
      refresh_url: `${this.baseUrl}/portal/payouts?onboarding=refresh`,
      return_url: `${this.baseUrl}/portal/payouts?onboarding=done`,
    });
    return { accountId: account.stripeAccountId, url: link.url };
  }

  async status(affiliateId: string): Promise<PayoutAccount | null> {
    return this.dataSource.getRepository(PayoutAccount).findOneBy({ affiliateId });
  }

  /**
   * Applies the account's state as Stripe holds it now. Events arrive late, twice and out of
   * order, several within the same second (their `created` cannot order them), so the event only
   * names the account; the row lock makes concurrent applications read Stripe one after another.
   */
  private async accountUpdated(manager: EntityManager, event: Stripe.Event): Promise<string> {
    const { id } = event.data.object as Stripe.Account;
    const [known] = await manager.query(`SELECT 1 FROM payout_accounts WHERE stripe_account_id = $1 FOR UPDATE`, [id]);
    if (!known) return 'unknown account';
    const account = await this.stripe.api.accounts.retrieve(id);
    await manager.query(
      `UPDATE payout_accounts SET payouts_enabled = $2, details_submitted = $3, last_event_at = greatest(last_event_at, $4), updated_at = now()
        WHERE stripe_account_id = $1`,
      [id, account.payouts_enabled === true, account.details_submitted === true, new Date(event.created * 1000)],
    );
    return `payouts ${account.payouts_enabled ? 'enabled' : 'disabled'}`;
  }
}
