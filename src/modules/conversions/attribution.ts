import type { AttributionPriority } from '../offers/offer.entity';
import type { ClickStatus } from '../tracking/click.entity';

/** A way a conversion could be credited: a verified click, an active coupon, or (recurring goals) its customer's first conversion. */
export interface Candidate {
  by: 'click' | 'coupon' | 'customer';
  offerId: string;
  affiliateId: string;
  advertiserId: string;
  linkId?: string;
  clickedAt?: Date;
  /** ok, or why the click was not allowed (then it wins attribution but the conversion is rejected). */
  clickStatus?: ClickStatus;
}

export interface AttributionInput {
  advertiserId: string;
  at: Date;
  click: Candidate | null;
  /** Why a given click id did not yield a candidate (tampered, unknown link…). */
  clickProblem: string | null;
  coupon: Candidate | null;
  couponProblem: string | null;
  /** The attribution window and priority of the offer each candidate points to. */
  offerRules: (offerId: string) => { attributionWindowDays: number; attributionPriority: AttributionPriority } | undefined;
}

export type Attribution = { ok: true; winner: Candidate } | { ok: false; reason: string };

/** Clocks drift between the advertiser's server and ours; a click this much "after" is still before. */
const CLOCK_SKEW_MS = 5_000;

/** Checks a click candidate against its offer's window; null when it may be credited. */
export function clickProblem(click: Candidate, at: Date, windowDays: number): string | null {
  const clickedAt = click.clickedAt?.getTime() ?? Number.NaN;
  if (clickedAt - CLOCK_SKEW_MS > at.getTime()) return 'click_after_conversion';
  if (at.getTime() - clickedAt > windowDays * 86_400_000) return 'click_outside_window';
  return null;
}

/**
 * Picks who earns the conversion. Coupon and click compete by the offer's priority; a click
 * must lie inside its offer's window and not after the conversion; a candidate of another
 * advertiser never wins. With no winner the conversion is stored `unattributed` with `reason`.
 */
export function attribute(input: AttributionInput): Attribution {
  const problems: string[] = [];
  const valid: Candidate[] = [];
  const consider = (candidate: Candidate | null, givenProblem: string | null) => {
    if (givenProblem) problems.push(givenProblem);
    if (!candidate) return;
    if (candidate.advertiserId !== input.advertiserId) {
      problems.push(`${candidate.by}_of_another_advertiser`);
      return;
    }
    const rules = input.offerRules(candidate.offerId);
    if (!rules) {
      problems.push('unknown_offer');
      return;
    }
    const problem = candidate.by === 'click' ? clickProblem(candidate, input.at, rules.attributionWindowDays) : null;
    if (problem) problems.push(problem);
    else valid.push(candidate);
  };
  consider(input.coupon, input.couponProblem);
  consider(input.click, input.clickProblem);

  if (valid.length === 0) return { ok: false, reason: problems[0] ?? 'no_click_or_coupon' };
  if (valid.length === 1) return { ok: true, winner: valid[0] };
  // Both valid: the priority of the coupon's offer decides (the coupon is the stronger claim to an offer).
  const priority = input.offerRules(valid[0].offerId)?.attributionPriority ?? 'coupon_first';
  const wanted = priority === 'coupon_first' ? 'coupon' : 'click';
  return { ok: true, winner: valid.find((c) => c.by === wanted) ?? valid[0] };
}
