import { couponLeak, duplicateCustomer, fastConversion, geoMismatch, selfReferral, subAnomaly } from './conversion-signals';

const at = new Date('2026-12-04T12:00:00Z');
const secondsBefore = (s: number) => new Date(at.getTime() - s * 1000);

describe('conversion signals', () => {
  it('fast_conversion fires under the offer minimum, and under a few seconds whatever the offer says', () => {
    expect(fastConversion(secondsBefore(20), at, 30)).toEqual({ code: 'fast_conversion', detail: "converted 20 s after the click; the offer's minimum is 30 s" });
    expect(fastConversion(secondsBefore(1), at, 0)).toEqual({ code: 'fast_conversion', detail: 'converted 1 s after the click' });
  });
  it('fast_conversion stays quiet after a plausible time, or without a click', () => {
    expect(fastConversion(secondsBefore(600), at, 30)).toBeNull();
    expect(fastConversion(secondsBefore(5), at, 0)).toBeNull();
    expect(fastConversion(null, at, 30)).toBeNull();
  });

  it('geo_mismatch fires when the customer converts from another country than the click', () => {
    expect(geoMismatch('DE', 'BR')).toEqual({ code: 'geo_mismatch', detail: 'clicked from DE, converted from BR' });
  });
  it('geo_mismatch stays quiet for the same country or an unknown one', () => {
    expect(geoMismatch('DE', 'DE')).toBeNull();
    expect(geoMismatch(null, 'DE')).toBeNull();
    expect(geoMismatch('DE', null)).toBeNull();
  });

  it('duplicate_customer fires when the customer converted for another affiliate', () => {
    expect(duplicateCustomer(1)?.detail).toBe('this customer converted before for 1 other affiliate of the advertiser');
    expect(duplicateCustomer(2)?.detail).toMatch(/2 other affiliates/);
  });
  it('duplicate_customer stays quiet for a new customer (or the same affiliate again)', () => {
    expect(duplicateCustomer(0)).toBeNull();
  });

  it("self_referral fires on the affiliate's own e-mail or sign-in IP", () => {
    expect(selfReferral({ ip: false, email: true })?.code).toBe('self_referral');
    expect(selfReferral({ ip: true, email: false })?.detail).toMatch(/IP the affiliate signs in from/);
  });
  it('self_referral stays quiet otherwise', () => {
    expect(selfReferral({ ip: false, email: false })).toBeNull();
  });

  const rates = { sub1: 'promo', subClicks: 20, subConversions: 10, offerClicks: 1000, offerConversions: 30 };
  it('sub_anomaly fires on a sub id converting far above the offer', () => {
    expect(subAnomaly(rates)).toEqual({ code: 'sub_anomaly', detail: 'sub1 "promo" converts 50% of its clicks; the offer 3.0%' });
  });
  it('sub_anomaly stays quiet near the offer rate, on few conversions, or without a sub', () => {
    expect(subAnomaly({ ...rates, subClicks: 300 })).toBeNull();
    expect(subAnomaly({ ...rates, subConversions: 4 })).toBeNull();
    expect(subAnomaly(null)).toBeNull();
  });

  it('coupon_leak fires on a coupon used mostly without a click', () => {
    expect(couponLeak({ code: 'SAVE20', uses: 10, withoutClick: 9 })).toEqual({ code: 'coupon_leak', detail: 'coupon SAVE20: 9 of its 10 uses in 30 days came without a click' });
  });
  it('coupon_leak stays quiet when clicks stand behind the uses, or on few uses', () => {
    expect(couponLeak({ code: 'SAVE20', uses: 10, withoutClick: 5 })).toBeNull();
    expect(couponLeak({ code: 'SAVE20', uses: 4, withoutClick: 4 })).toBeNull();
    expect(couponLeak(null)).toBeNull();
  });
});
