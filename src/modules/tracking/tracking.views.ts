import { storedRisk } from '../../common/risk/risk';
import type { ClickView } from './dto/clicks.dto';
import type { CouponView } from './dto/coupons.dto';
import type { LinkView } from './dto/links.dto';
import type { Coupon } from './coupon.entity';
import type { ClickStatus } from './click.entity';
import { Channel, SubValues, subValuesOf, TrackingLink } from './tracking-link.entity';

export function toLinkView(link: TrackingLink, url: string): LinkView {
  return {
    id: link.id,
    code: link.code,
    url,
    offerId: link.offerId,
    affiliateId: link.affiliateId,
    label: link.label,
    channel: link.channel,
    ...subValuesOf(link),
    createdAt: link.createdAt.toISOString(),
    archivedAt: link.archivedAt?.toISOString() ?? null,
  };
}

export function toCouponView(coupon: Coupon): CouponView {
  return {
    id: coupon.id,
    code: coupon.code,
    offerId: coupon.offerId,
    advertiserId: coupon.advertiserId,
    affiliateId: coupon.affiliateId,
    status: coupon.status,
    requestedBy: coupon.requestedBy,
    createdAt: coupon.createdAt.toISOString(),
    decidedAt: coupon.decidedAt?.toISOString() ?? null,
  };
}

/** A row of the clicks listing query (snake_case, `ip` already shaped for the reader). */
export interface ClickListRow extends SubValues {
  id: string;
  clicked_at: Date;
  link_id: string;
  offer_id: string;
  affiliate_id: string;
  channel: Channel;
  ip: string | null;
  user_agent: string | null;
  referrer: string | null;
  is_unique: boolean;
  status: ClickStatus;
  risk_score: number | null;
  risk_reasons: unknown;
}

export function toClickView(row: ClickListRow): ClickView {
  return {
    id: row.id,
    clickedAt: row.clicked_at.toISOString(),
    linkId: row.link_id,
    offerId: row.offer_id,
    affiliateId: row.affiliate_id,
    channel: row.channel,
    ...subValuesOf(row),
    ip: row.ip,
    userAgent: row.user_agent,
    referrer: row.referrer,
    unique: row.is_unique,
    status: row.status,
    risk: storedRisk(row.risk_score, row.risk_reasons),
  };
}
