import { ApiKey } from './modules/accounts/api-key.entity';
import { PostbackToken } from './modules/accounts/postback-token.entity';
import { Principal } from './modules/accounts/principal.entity';
import { GoalPayoutOverride } from './modules/offers/goal-payout-override.entity';
import { OfferAccess } from './modules/offers/offer-access.entity';
import { OfferGoal } from './modules/offers/offer-goal.entity';
import { Offer } from './modules/offers/offer.entity';
import { OutboxMessage } from './queue/outbox/outbox.entity';
import { ConversionEvent } from './modules/conversions/conversion-event.entity';
import { Conversion } from './modules/conversions/conversion.entity';
import { PostbackAttempt } from './modules/postbacks/postback-attempt.entity';
import { PostbackSetting } from './modules/postbacks/postback-setting.entity';
import { StripeEventRecord } from './integrations/stripe/stripe-event.entity';
import { Payout, PayoutAccount, PayoutRun } from './modules/payouts/payout.entities';
import { BILLING_ENTITIES } from './modules/billing/billing.entities';
import { PORTAL_ENTITIES } from './modules/portal/portal.entities';
import { REPORTS_ENTITIES } from './modules/reports/reports.entities';
import { LEDGER_ENTITIES } from './modules/ledger/ledger.entities';
import { TRACKING_ENTITIES } from './modules/tracking/tracking.entities';
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
  PostbackSetting,
  PostbackAttempt,
  StripeEventRecord,
  PayoutAccount,
  PayoutRun,
  Payout,
  ...BILLING_ENTITIES,
  ...TRACKING_ENTITIES,
  ...LEDGER_ENTITIES,
  ...REPORTS_ENTITIES,
  ...PORTAL_ENTITIES,
];
