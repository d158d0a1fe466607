import { Foundation1764000000000 } from './1764000000000-Foundation';
import { Tracking1764000000100 } from './1764000000100-Tracking';
import { Conversions1764000000200 } from './1764000000200-Conversions';
import { Ledger1764000000300 } from './1764000000300-Ledger';
import { Postbacks1764000000400 } from './1764000000400-Postbacks';
import { Payouts1764000000500 } from './1764000000500-Payouts';
import { Reports1764000000600 } from './1764000000600-Reports';
import { Portal1764000000700 } from './1764000000700-Portal';
import { PayoutReversals1765100000000 } from './1765100000000-PayoutReversals';
import { IntakeHardening1765200000000 } from './1765200000000-IntakeHardening';
import { LedgerGuards1765300000000 } from './1765300000000-LedgerGuards';
import { OutboxParking1765300000100 } from './1765300000100-OutboxParking';
import { ExactBilling1765400000000 } from './1765400000000-ExactBilling';
import { PostbackDeliveries1765500000000 } from './1765500000000-PostbackDeliveries';
import { PortalInviteRevocation1765600000000 } from './1765600000000-PortalInviteRevocation';
import { PayoutRails1765720000000 } from './1765720000000-PayoutRails';
import { ConversionCustomersAndHolds1765800000000 } from './1765800000000-ConversionCustomersAndHolds';
import { ConversionCustomerIndex1765800000100 } from './1765800000100-ConversionCustomerIndex';
import { PortalPasswordResets1765850000000 } from './1765850000000-PortalPasswordResets';
import { TrafficQuality1765860000000 } from './1765860000000-TrafficQuality';
import { QualityIndexes1765860000100 } from './1765860000100-QualityIndexes';
import { RecurringCommissions1765870000000 } from './1765870000000-RecurringCommissions';
import { Bonuses1765870000100 } from './1765870000100-Bonuses';
import { PrepaidFunding1765870000200 } from './1765870000200-PrepaidFunding';
import { AwaitingFundsIndex1765870000300 } from './1765870000300-AwaitingFundsIndex';
import { OutgoingWebhooks1765880000000 } from './1765880000000-OutgoingWebhooks';
import { StripeConversions1765880000100 } from './1765880000100-StripeConversions';
import { PrincipalRejected1765890000000 } from './1765890000000-PrincipalRejected';
import { PortalTwoFactor1765890000100 } from './1765890000100-PortalTwoFactor';
import { FundingStripeInvoice1765900000000 } from './1765900000000-FundingStripeInvoice';
import { BonusCredits1765900000100 } from './1765900000100-BonusCredits';

/** Every migration, in order; listed here so the app, the CLI and the tests load the same set. */
export const MIGRATIONS = [
  Foundation1764000000000,
  Tracking1764000000100,
  Conversions1764000000200,
  Ledger1764000000300,
  Postbacks1764000000400,
  Payouts1764000000500,
  Reports1764000000600,
  Portal1764000000700,
  PayoutReversals1765100000000,
  IntakeHardening1765200000000,
  LedgerGuards1765300000000,
  OutboxParking1765300000100,
  ExactBilling1765400000000,
  PostbackDeliveries1765500000000,
  PortalInviteRevocation1765600000000,
  PayoutRails1765720000000,
  ConversionCustomersAndHolds1765800000000,
  ConversionCustomerIndex1765800000100,
  PortalPasswordResets1765850000000,
  TrafficQuality1765860000000,
  QualityIndexes1765860000100,
  RecurringCommissions1765870000000,
  Bonuses1765870000100,
  PrepaidFunding1765870000200,
  AwaitingFundsIndex1765870000300,
  OutgoingWebhooks1765880000000,
  StripeConversions1765880000100,
  PrincipalRejected1765890000000,
  PortalTwoFactor1765890000100,
  FundingStripeInvoice1765900000000,
  BonusCredits1765900000100,
];
