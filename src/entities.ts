import { ApiKey } from './modules/principals/api-key.entity';
import { PostbackToken } from './modules/principals/postback-token.entity';
import { Principal } from './modules/principals/principal.entity';
import { GoalPayoutOverride } from './modules/offers/goal-payout-override.entity';
import { OfferAccess } from './modules/offers/offer-access.entity';
import { OfferGoal } from './modules/offers/offer-goal.entity';
import { Offer } from './modules/offers/offer.entity';
import { OutboxMessage } from './queue/outbox/outbox.entity';
import { ConversionEvent } from './modules/conversions/conversion-event.entity';
import { Conversion } from './modules/conversions/conversion.entity';
import { PartnerPostbackAttempt } from './modules/partner-postbacks/partner-postback-attempt.entity';
import { PartnerPostbackSetting } from './modules/partner-postbacks/partner-postback-setting.entity';
import { StripeEventRecord } from './integrations/stripe/stripe-event.entity';
import { Payout, PayoutDestination, PayoutRun } from './modules/payouts/payout.entities';
import { BILLING_ENTITIES } from './modules/billing/billing.entities';
import { PORTAL_ENTITIES } from './modules/portal/portal.entities';
import { REPORTS_ENTITIES } from './modules/reports/reports.entities';
import { LEDGER_ENTITIES } from './modules/ledger/ledger.entities';
import { TRACKING_ENTITIES } from './modules/tracking/tracking.entities';
import { WEBHOOK_ENTITIES } from './modules/webhooks/webhook.entities';
import { STRIPE_INTEGRATION_ENTITIES } from './modules/stripe-conversions/stripe-integration.entities';
import { PROGRAMS_ENTITIES } from './modules/programs/programs.entities';
import { ConversionAppeal } from './modules/quality/appeal.entity';

export const ENTITIES = [
  Principal,
  ApiKey,
  PostbackToken,
  Offer,
  OfferGoal,
  GoalPayoutOverride,
  OfferAccess,
  Conversion,
  ConversionEvent,
  ConversionAppeal,
  OutboxMessage,
  PartnerPostbackSetting,
  PartnerPostbackAttempt,
  StripeEventRecord,
  PayoutDestination,
  PayoutRun,
  Payout,
  ...BILLING_ENTITIES,
  ...TRACKING_ENTITIES,
  ...LEDGER_ENTITIES,
  ...PROGRAMS_ENTITIES,
  ...REPORTS_ENTITIES,
  ...PORTAL_ENTITIES,
  ...WEBHOOK_ENTITIES,
  ...STRIPE_INTEGRATION_ENTITIES,
];
