import fc from 'fast-check';
import type { OfferCaps } from '../offers/offer.entity';
import { capBroken, CapUsage, CheckInput, firstRejection, hasCaps } from './conversion-checks';
import { RejectionReason } from './conversions.errors';

const at = new Date('2026-03-01T12:00:00Z');
const fine: CheckInput = {
  offerStatus: 'active',
  affiliateStatus: 'active',
  hasAccess: true,
  offerCurrency: 'USD',
  currency: 'USD',
  clickedAt: new Date(at.getTime() - 60_000),
  at,
  minClickToConversionSeconds: 30,
};

/** Each failure alone, in the order the checks apply. */
const FAILURES: [RejectionReason, Partial<CheckInput>][] = [
  [RejectionReason.AffiliateSuspended, { affiliateStatus: 'suspended' }],
  [RejectionReason.OfferInactive, { offerStatus: 'paused' }],
  [RejectionReason.NoAccess, { hasAccess: false }],
  [RejectionReason.CurrencyMismatch, { currency: 'EUR' }],
  [RejectionReason.TooFast, { clickedAt: new Date(at.getTime() - 29_999) }],
];

describe('firstRejection', () => {
  it('passes a conversion that breaks nothing', () => {
    expect(firstRejection(fine)).toBeNull();
  });

  it.each(FAILURES)('names %s', (reason, patch) => {
    expect(firstRejection({ ...fine, ...patch })).toBe(reason);
  });

  it.each([
    ['a pending', { affiliateStatus: 'pending' }, RejectionReason.AffiliateSuspended],
    ['a missing affiliate', { affiliateStatus: 'missing' }, RejectionReason.AffiliateSuspended],
    ['an archived offer', { offerStatus: 'archived' }, RejectionReason.OfferInactive],
  ])('treats %s as not active', (_label, patch, reason) => {
    expect(firstRejection({ ...fine, ...patch })).toBe(reason);
  });

  it('stores the first failure in check order, whichever others there are', () => {
    fc.assert(
      fc.property(
        fc.subarray(
          FAILURES.map((_, i) => i),
          { minLength: 1 },
        ),
        (broken) => {
          const input = broken.reduce((acc, i) => ({ ...acc, ...FAILURES[i][1] }), fine);
          expect(firstRejection(input)).toBe(FAILURES[Math.min(...broken)][0]);
        },
      ),
    );
  });

  it('measures the minimum click-to-conversion time to the millisecond, only with a click and a minimum', () => {
    expect(firstRejection({ ...fine, clickedAt: new Date(at.getTime() - 30_000) })).toBeNull();
    expect(firstRejection({ ...fine, clickedAt: new Date(at.getTime() - 29_999) })).toBe(RejectionReason.TooFast);
    expect(firstRejection({ ...fine, clickedAt: null })).toBeNull(); // a coupon conversion has no click
    expect(firstRejection({ ...fine, clickedAt: at, minClickToConversionSeconds: 0 })).toBeNull();
  });
});

const unused: CapUsage = { day: 0, month: 0, total: 0, affiliateDay: 0, affiliateMonth: 0, affiliateTotal: 0, revenue: 0 };
/** Each cap with the usage that counts against it, in the order they are checked. */
const COUNT_CAPS: [keyof OfferCaps, keyof CapUsage][] = [
  ['dailyConversions', 'day'],
  ['monthlyConversions', 'month'],
  ['totalConversions', 'total'],
  ['affiliateDailyConversions', 'affiliateDay'],
  ['affiliateMonthlyConversions', 'affiliateMonth'],
  ['affiliateTotalConversions', 'affiliateTotal'],
];

describe('capBroken', () => {
  it('is null without caps', () => {
    expect(capBroken({}, { ...unused, day: 1e9, revenue: 1e12 }, 1e9)).toBeNull();
  });

  it.each(COUNT_CAPS)('%s: the conversion that would be one past the limit breaks it', (cap, usage) => {
    expect(capBroken({ [cap]: 3 }, { ...unused, [usage]: 2 }, 0)).toBeNull();
    expect(capBroken({ [cap]: 3 }, { ...unused, [usage]: 3 }, 0)).toBe(cap);
    // Other counts do not touch this cap.
    const others = Object.fromEntries(COUNT_CAPS.filter(([, u]) => u !== usage).map(([, u]) => [u, 1000]));
    expect(capBroken({ [cap]: 3 }, { ...unused, ...others }, 0)).toBeNull();
  });

  it('revenueBudget: the budget may be spent exactly, not exceeded, by this conversion', () => {
    expect(capBroken({ revenueBudget: 1000 }, { ...unused, revenue: 600 }, 400)).toBeNull();
    expect(capBroken({ revenueBudget: 1000 }, { ...unused, revenue: 600 }, 401)).toBe('revenueBudget');
    expect(capBroken({ revenueBudget: 0 }, unused, 0)).toBeNull(); // a zero-revenue conversion spends nothing
  });

  it('names the first broken cap in check order: counts in their order, then the budget', () => {
    const allCaps: OfferCaps = { ...Object.fromEntries(COUNT_CAPS.map(([cap]) => [cap, 1])), revenueBudget: 1 };
    fc.assert(
      fc.property(fc.subarray([...COUNT_CAPS.keys(), COUNT_CAPS.length], { minLength: 1 }), (broken) => {
        const used = { ...unused };
        for (const i of broken) if (i < COUNT_CAPS.length) used[COUNT_CAPS[i][1]] = 1;
        const overBudget = broken.includes(COUNT_CAPS.length);
        const first = Math.min(...broken);
        expect(capBroken(allCaps, used, overBudget ? 2 : 0)).toBe(first < COUNT_CAPS.length ? COUNT_CAPS[first][0] : 'revenueBudget');
      }),
    );
  });
});

describe('hasCaps', () => {
  it('is true when any cap is set, and false for none, undefined or null ones', () => {
    expect(hasCaps({})).toBe(false);
    expect(hasCaps(null as unknown as OfferCaps)).toBe(false);
    expect(hasCaps({ dailyConversions: undefined, revenueBudget: null } as unknown as OfferCaps)).toBe(false);
    expect(hasCaps({ revenueBudget: 0 })).toBe(true);
    expect(hasCaps({ affiliateTotalConversions: 5 })).toBe(true);
  });
});
