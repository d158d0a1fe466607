import { AuthPrincipal, isStaff } from '../../common/auth';
import { DEFAULT_QUALITY_POLICY } from '../../common/risk/risk';
import { ApplicationDto, GoalView, OfferView } from './dto/offer.dto';
import { ruleMargin } from '../rules';
import { OfferAccess } from './offer-access.entity';
import { OfferGoal } from './offer-goal.entity';
import { OfferWithAccess } from './offers.service';

/** An affiliate sees its own effective payout, never the revenue, the margin or others' overrides. */
function goalView(goal: OfferGoal, actor: AuthPrincipal): GoalView {
  if (actor.role === 'affiliate') {
    const own = goal.overrides?.find((o) => o.affiliateId === actor.id);
    return { key: goal.key, name: goal.name, recurring: goal.recurring ?? null, payout: own?.payout ?? goal.payout };
  }
  return {
    key: goal.key,
    name: goal.name,
    recurring: goal.recurring ?? null,
    revenue: goal.revenue,
    payout: goal.payout,
    ...(isStaff(actor) ? { margin: ruleMargin(goal.revenue, goal.payout) } : {}),
    overrides: (goal.overrides ?? []).map((o) => ({ affiliateId: o.affiliateId, payout: o.payout })),
  };
}

export function toOfferView({ offer, access }: OfferWithAccess, actor: AuthPrincipal): OfferView {
  return {
    id: offer.id,
    advertiserId: offer.advertiserId,
    name: offer.name,
    description: offer.description,
    landingUrl: offer.landingUrl,
    fallbackUrl: actor.role === 'affiliate' ? null : offer.fallbackUrl,
    currency: offer.currency,
    status: offer.status,
    pausedReason: offer.pausedReason ?? null,
    visibility: offer.visibility,
    attributionWindowDays: offer.attributionWindowDays,
    lockPeriodDays: offer.lockPeriodDays,
    attributionPriority: offer.attributionPriority,
    minClickToConversionSeconds: offer.minClickToConversionSeconds,
    caps: offer.caps,
    timezone: offer.timezone,
    pixelAmounts: offer.pixelAmounts,
    quality: { ...DEFAULT_QUALITY_POLICY, ...offer.quality },
    goals: (offer.goals ?? []).map((g) => goalView(g, actor)),
    ...(access !== undefined ? { access } : {}),
    createdAt: offer.createdAt.toISOString(),
    updatedAt: offer.updatedAt.toISOString(),
  };
}

export function toApplicationView(a: OfferAccess): ApplicationDto {
  return {
    offerId: a.offerId,
    affiliateId: a.affiliateId,
    status: a.status,
    note: a.note,
    decidedAt: a.decidedAt?.toISOString() ?? null,
    createdAt: a.createdAt.toISOString(),
  };
}
