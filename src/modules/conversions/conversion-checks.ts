import type { OfferCaps } from '../offers/offer.entity';
import { RejectionReason } from './conversions.errors';

export interface CheckInput {
  offerStatus: string;
  affiliateStatus: string;
  hasAccess: boolean;
  offerCurrency: string;
  currency: string;
  clickedAt: Date | null;
  at: Date;
  minClickToConversionSeconds: number;
}

/** The checks that need no counting; the first failure is the reason stored. */
export function firstRejection(c: CheckInput): RejectionReason | null {
  if (c.affiliateStatus !== 'active') return RejectionReason.AffiliateSuspended;
  if (c.offerStatus !== 'active') return RejectionReason.OfferInactive;
  if (!c.hasAccess) return RejectionReason.NoAccess;
  if (c.currency !== c.offerCurrency) return RejectionReason.CurrencyMismatch;
  if (c.clickedAt && c.minClickToConversionSeconds > 0 && c.at.getTime() - c.clickedAt.getTime() < c.minClickToConversionSeconds * 1000) {
    return RejectionReason.TooFast;
  }
  return null;
}

export interface CapUsage {
  day: number;
  month: number;
  total: number;
  affiliateDay: number;
  affiliateMonth: number;
  affiliateTotal: number;
  revenue: number;
}

/** The first cap this conversion would break (counts exclude it), as the name of the cap. */
export function capBroken(caps: OfferCaps, used: CapUsage, revenue: number): keyof OfferCaps | null {
  const limits: [keyof OfferCaps, number][] = [
    ['dailyConversions', used.day],
    ['monthlyConversions', used.month],
    ['totalConversions', used.total],
    ['affiliateDailyConversions', used.affiliateDay],
    ['affiliateMonthlyConversions', used.affiliateMonth],
    ['affiliateTotalConversions', used.affiliateTotal],
  ];
  for (const [cap, count] of limits) {
    const limit = caps[cap];
    if (limit !== undefined && count + 1 > limit) return cap;
  }
  if (caps.revenueBudget !== undefined && used.revenue + revenue > caps.revenueBudget) return 'revenueBudget';
  return null;
}

export function hasCaps(caps: OfferCaps): boolean {
  return Object.values(caps ?? {}).some((v) => v !== undefined && v !== null);
}
