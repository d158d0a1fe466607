import { AuthPrincipal, isStaff } from '../../common/auth';
import { ConversionEvent } from './conversion-event.entity';
import { Conversion } from './conversion.entity';
import { ConversionEventView, ConversionView } from './dto/conversion.dto';

/** SPEC 11's conversion shape; revenue hidden from affiliates, margin shown to staff only. */
export function toConversionView(c: Conversion, viewer: AuthPrincipal, events?: ConversionEvent[]): ConversionView {
  const affiliate = viewer.role === 'affiliate';
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
    payout: c.payout,
    ...(isStaff(viewer) ? { margin: c.revenue - c.payout } : {}),
    currency: c.currency,
    status: c.status,
    reason: c.reason,
    reasonDetail: c.reasonDetail,
    attributedBy: c.attributedBy,
    source: c.source,
    payoutRule: c.payoutRule,
    rounding: c.rounding,
    approveAfter: c.approveAfter?.toISOString() ?? null,
    createdAt: c.createdAt.toISOString(),
    ...(events ? { events: events.map(toEventView) } : {}),
  };
}

function toEventView(e: ConversionEvent): ConversionEventView {
  return { fromStatus: e.fromStatus, toStatus: e.toStatus, actorType: e.actorType, actorId: e.actorId, reason: e.reason, createdAt: e.createdAt.toISOString() };
}
