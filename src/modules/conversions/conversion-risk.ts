import type { Risk } from '../../common/risk/risk';
import type { Offer } from '../offers/offer.entity';
import type { Conversion } from './conversion.entity';

/** What the intake scorer reads of a conversion about to be written. */
export type IntakeDraft = Pick<
  Conversion,
  'advertiserId' | 'affiliateId' | 'offerId' | 'linkId' | 'clickId' | 'clickedAt' | 'couponId' | 'customerId' | 'ip' | 'userAgent' | 'source' | 'attributedBy'
>;

/**
 * Scores a conversion at intake (README, "Traffic quality"). Provided by the quality module, which
 * depends on conversions; conversions only declare what they need. Absent (a context without the
 * quality module), conversions are recorded unscored and the quality job scores them later.
 */
export interface IntakeRiskScorer {
  intake(draft: IntakeDraft, offer: Offer, at: Date): Promise<Risk>;
}
export const INTAKE_RISK_SCORER = Symbol('INTAKE_RISK_SCORER');
