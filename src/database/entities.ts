import { ApiKey } from '../modules/accounts/api-key.entity';
import { PostbackToken } from '../modules/accounts/postback-token.entity';
import { Principal } from '../modules/accounts/principal.entity';
import { GoalPayoutOverride } from '../modules/offers/goal-payout-override.entity';
import { OfferAccess } from '../modules/offers/offer-access.entity';
import { OfferGoal } from '../modules/offers/offer-goal.entity';
import { Offer } from '../modules/offers/offer.entity';
import { LEDGER_ENTITIES } from '../modules/ledger/ledger.entities';
import { TRACKING_ENTITIES } from '../modules/tracking/tracking.entities';

export const ENTITIES = [Principal, ApiKey, PostbackToken, Offer, OfferGoal, GoalPayoutOverride, OfferAccess, ...TRACKING_ENTITIES, ...LEDGER_ENTITIES];
