import { AuthPrincipal, isStaff } from '../../common/auth';
import { storedRisk } from '../../common/risk/risk';
import { ConversionEvent } from './conversion-event.entity';
import { Conversion } from './conversion.entity';
import { ConversionEventView, ConversionView } from './dto/conversion.dto';

/**
 * The conversion as `viewer` may see it: revenue (and its rule and rounding) hidden from
 * affiliates, payout (and its rule and rounding) from advertisers, since either with the other
 * side's figure gives away the network's margin; the margin itself for staff only.
 */
export function toConversionView(c: Conversion, viewer: AuthPrincipal, events?: ConversionEvent[]): ConversionView {
  const affiliate = viewer.role === 'affiliate';
  const advertiser = viewer.role === 'advertiser';
  return {
    id: c.id,
    offerId: c.offerId,
    goal: c.goalKey,
    affiliateId: c.affiliateId,
    clickId: c.clickId,
    coupon: c.couponCode,
    txnId: c.txnId,
    saleAmount: c.saleAmount,
    ...(affiliate ? {} : { revenue: c.revenue, revenueRule: c.revenueRule, advertiserId: c.advertiserId }),
    ...(advertiser ? {} : { payout: c.payout, payoutRule: c.payoutRule }),
    ...(isStaff(viewer) ? { margin: c.revenue - c.payout } : {}),
    currency: c.currency,
    status: c.status,
    reason: c.reason,
    reasonDetail: c.reasonDetail,
    attributedBy: c.attributedBy,
    source: c.source,
    rounding: visibleRounding(c.rounding, viewer),
    occurredAt: c.occurredAt?.toISOString() ?? null,
    approveAfter: c.approveAfter?.toISOString() ?? null,
    customerId: c.customerId,
    hold: c.hold,
    risk: storedRisk(c.riskScore, c.riskReasons),
    createdAt: c.createdAt.toISOString(),
    ...(events ? { events: events.map(toEventView) } : {}),
  };
}

function visibleRounding(rounding: Conversion['rounding'], viewer: AuthPrincipal): Conversion['rounding'] {
  const { revenue, payout } = rounding ?? {};
  if (viewer.role === 'affiliate') return payout ? { payout } : {};
  if (viewer.role === 'advertiser') return revenue ? { revenue } : {};
  return rounding;
}

function toEventView(e: ConversionEvent): ConversionEventView {
  return { fromStatus: e.fromStatus, toStatus: e.toStatus, actorType: e.actorType, actorId: e.actorId, reason: e.reason, createdAt: e.createdAt.toISOString() };
}
