import { ProgramsModule } from '../programs/programs.module';
import { AdvertiserProgramsController, AffiliateProgramsController, FundingPortalController } from './programs/programs.controller';
import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { PrincipalsModule } from '../principals/principals.module';
import { BillingModule } from '../billing/billing.module';
import { ConversionsModule } from '../conversions/conversions.module';
import { LedgerModule } from '../ledger/ledger.module';
import { OffersModule } from '../offers/offers.module';
import { PayoutsModule } from '../payouts/payouts.module';
import { PartnerPostbacksModule } from '../partner-postbacks/partner-postbacks.module';
import { ReportsModule } from '../reports/reports.module';
import { StatementsModule } from '../statements/statements.module';
import { TrackingModule } from '../tracking/tracking.module';
import { StripeConversionsModule } from '../stripe-conversions/stripe-conversions.module';
import { WebhooksModule } from '../webhooks/webhooks.module';
import { StripeConnectionPortalController, WebhooksPortalController } from './connections/connections.controller';
import { InviteMailer } from './auth/invite-mailer';
import { LoginThrottleService } from './auth/login-throttle.service';
import { TwoFactorService } from './auth/two-factor.service';
import { PasswordResetsService } from './auth/password-resets.service';
import { SessionsService } from './auth/sessions.service';
import { SessionRetention } from './auth/session-retention';
import { SignInController } from './auth/sign-in.controller';
import { UsersService } from './auth/users.service';
import { AccountController } from './account/account.controller';
import { AdminController } from './admin/admin.controller';
import { AdvertiserController } from './advertiser/advertiser.controller';
import { AffiliateController } from './affiliate/affiliate.controller';
import { FinanceController } from './finance/finance.controller';
import { ReportsPageController } from './reports/reports-page.controller';
import { PORTAL_ENTITIES } from './portal.entities';
import { AdvertiserQualityController, AffiliateQualityController } from './quality/quality-portal.controller';
import { DisplayNames } from './web/display-names';
import { ListFilters } from './web/list-filters';
import { StatementDownloads } from './web/statement-downloads';
import { AssetsController } from './web/assets.controller';
import { PortalAssets } from './web/portal-assets';
import { PortalCookies } from './web/portal-cookies';
import { PortalViews } from './web/portal-views';

/**
 * The web portal at /portal: server-rendered pages for people, calling the same services as the
 * /v1 API. It owns people, sessions and invitations; every business rule stays in its feature.
 */
@Module({
  imports: [
    TypeOrmModule.forFeature(PORTAL_ENTITIES),
    PrincipalsModule,
    OffersModule,
    TrackingModule,
    ConversionsModule,
    LedgerModule,
    PartnerPostbacksModule,
    PayoutsModule,
    BillingModule,
    StatementsModule,
    WebhooksModule,
    StripeConversionsModule,
    ReportsModule,
    ProgramsModule,
  ],
  // SignInController last: its catch-all answers the 404 page for any other /portal path.
  controllers: [
    AssetsController,
    AccountController,
    AffiliateQualityController,
    AdvertiserQualityController,
    AffiliateController,
    AdvertiserController,
    StripeConnectionPortalController,
    WebhooksPortalController,
    FinanceController,
    AdminController,
    ReportsPageController,
    AdvertiserProgramsController,
    AffiliateProgramsController,
    FundingPortalController,
    SignInController,
  ],
  providers: [
    PortalAssets,
    PortalViews,
    PortalCookies,
    SessionsService,
    SessionRetention,
    LoginThrottleService,
    TwoFactorService,
    InviteMailer,
    PasswordResetsService,
    UsersService,
    ListFilters,
    DisplayNames,
    StatementDownloads,
  ],
})
export class PortalModule {}
