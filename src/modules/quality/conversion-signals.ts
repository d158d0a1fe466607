import { clip, type RiskReason } from '../../common/risk/risk';

/** Below this many seconds between click and conversion, no person could have bought anything. */
export const IMPLAUSIBLE_SECONDS = 5;
/** A sub id is anomalous from this many accepted conversions, converting this many times the offer's rate. */
export const SUB_ANOMALY = { minConversions: 5, ratio: 3 };
/** A coupon leaked from this many uses, this share of them without any click. */
export const COUPON_LEAK = { minUses: 5, share: 0.8 };

/** Click to conversion under the offer's minimum, or under a few seconds whatever the offer says. */
export function fastConversion(clickedAt: Date | null, at: Date, offerMinimumSeconds: number): RiskReason | null {
  if (!clickedAt) return null;
  const seconds = (at.getTime() - clickedAt.getTime()) / 1000;
  const floor = Math.max(offerMinimumSeconds, IMPLAUSIBLE_SECONDS);
  if (seconds >= floor) return null;
  const shown = Math.max(0, Math.floor(seconds));
  return {
    code: 'fast_conversion',
    detail:
      offerMinimumSeconds > IMPLAUSIBLE_SECONDS ? `converted ${shown} s after the click; the offer's minimum is ${offerMinimumSeconds} s` : `converted ${shown} s after the click`,
  };
}

/** The customer's browser (the pixel's IP) is in another country than the click. */
export function geoMismatch(clickCountry: string | null, conversionCountry: string | null): RiskReason | null {
  if (!clickCountry || !conversionCountry || clickCountry === conversionCountry) return null;
  return { code: 'geo_mismatch', detail: `clicked from ${clickCountry}, converted from ${conversionCountry}` };
}

/** The advertiser's customer already converted for another affiliate of the advertiser. */
export function duplicateCustomer(otherAffiliates: number): RiskReason | null {
  if (otherAffiliates <= 0) return null;
  return { code: 'duplicate_customer', detail: `this customer converted before for ${otherAffiliates} other affiliate${otherAffiliates === 1 ? '' : 's'} of the advertiser` };
}

/** The affiliate converting for itself: the click or the customer from an IP it signs in from, or the customer id its own e-mail (or its SHA-256). */
export function selfReferral(match: { ip: boolean; email: boolean }): RiskReason | null {
  if (match.email) return { code: 'self_referral', detail: "the customer id is the affiliate's own e-mail (or its hash)" };
  if (match.ip) return { code: 'self_referral', detail: 'the click came from an IP the affiliate signs in from' };
  return null;
}

export interface RateFacts {
  sub1: string;
  subClicks: number;
  subConversions: number;
  offerClicks: number;
  offerConversions: number;
}

const percent = (n: number) => `${(n * 100).toFixed(n < 0.1 ? 1 : 0)}%`;

/** A sub id converting far above the offer's rate (over 30 days): bought or faked conversions behind one placement. */
export function subAnomaly(f: RateFacts | null): RiskReason | null {
  if (!f || f.subClicks <= 0 || f.subConversions < SUB_ANOMALY.minConversions) return null;
  const subRate = f.subConversions / f.subClicks;
  const offerRate = f.offerClicks > 0 ? f.offerConversions / f.offerClicks : 0;
  if (subRate < SUB_ANOMALY.ratio * offerRate) return null;
  return { code: 'sub_anomaly', detail: `sub1 "${clip(f.sub1, 60)}" converts ${percent(subRate)} of its clicks; the offer ${percent(offerRate)}` };
}

/** A coupon used mostly with no click from its affiliate behind it (over 30 days): the code leaked to a coupon site. */
export function couponLeak(f: { code: string; uses: number; withoutClick: number } | null): RiskReason | null {
  if (!f || f.uses < COUPON_LEAK.minUses || f.withoutClick / f.uses < COUPON_LEAK.share) return null;
  return { code: 'coupon_leak', detail: `coupon ${f.code}: ${f.withoutClick} of its ${f.uses} uses in 30 days came without a click` };
}
