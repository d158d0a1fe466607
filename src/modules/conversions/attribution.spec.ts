import { attribute, AttributionInput, Candidate } from './attribution';

const DAY = 86_400_000;
const at = new Date('2026-06-15T12:00:00Z');
const click = (clickedAt: Date, overrides: Partial<Candidate> = {}): Candidate => ({
  by: 'click',
  offerId: 'offer-click',
  affiliateId: 'aff-click',
  advertiserId: 'adv',
  linkId: 'link',
  clickedAt,
  ...overrides,
});
const coupon = (overrides: Partial<Candidate> = {}): Candidate => ({ by: 'coupon', offerId: 'offer-coupon', affiliateId: 'aff-coupon', advertiserId: 'adv', ...overrides });

function input(overrides: Partial<AttributionInput>, priority: 'coupon_first' | 'click_first' = 'coupon_first', windowDays = 30): AttributionInput {
  return {
    advertiserId: 'adv',
    at,
    click: null,
    clickProblem: null,
    coupon: null,
    couponProblem: null,
    offerRules: () => ({ attributionWindowDays: windowDays, attributionPriority: priority }),
    ...overrides,
  };
}

describe('attribute', () => {
  it('credits a click inside the window, up to its last millisecond', () => {
    expect(attribute(input({ click: click(new Date(at.getTime() - 30 * DAY)) }))).toMatchObject({ ok: true, winner: { by: 'click' } });
    expect(attribute(input({ click: click(new Date(at.getTime() - 30 * DAY - 1)) }))).toEqual({ ok: false, reason: 'click_outside_window' });
  });

  it('never credits a click after the conversion (beyond clock skew)', () => {
    expect(attribute(input({ click: click(new Date(at.getTime() + 4_000)) })).ok).toBe(true);
    expect(attribute(input({ click: click(new Date(at.getTime() + 6_000)) }))).toEqual({ ok: false, reason: 'click_after_conversion' });
  });

  it('lets the priority decide between a valid coupon and a valid click, both ways', () => {
    const both = { click: click(new Date(at.getTime() - DAY)), coupon: coupon() };
    expect(attribute(input(both, 'coupon_first'))).toMatchObject({ ok: true, winner: { by: 'coupon', affiliateId: 'aff-coupon' } });
    expect(attribute(input(both, 'click_first'))).toMatchObject({ ok: true, winner: { by: 'click', affiliateId: 'aff-click' } });
  });

  it('falls back to the other candidate when the preferred one is invalid', () => {
    const expiredClick = { click: click(new Date(at.getTime() - 90 * DAY)), coupon: coupon() };
    expect(attribute(input(expiredClick, 'click_first'))).toMatchObject({ ok: true, winner: { by: 'coupon' } });
  });

  it("never credits another advertiser's click or coupon", () => {
    expect(attribute(input({ click: click(new Date(at.getTime() - DAY), { advertiserId: 'other' }) }))).toEqual({ ok: false, reason: 'click_of_another_advertiser' });
    expect(attribute(input({ coupon: coupon({ advertiserId: 'other' }) }))).toEqual({ ok: false, reason: 'coupon_of_another_advertiser' });
  });

  it('reports why nothing could be credited', () => {
    expect(attribute(input({}))).toEqual({ ok: false, reason: 'no_click_or_coupon' });
    expect(attribute(input({ clickProblem: 'invalid_click_id' }))).toEqual({ ok: false, reason: 'invalid_click_id' });
    expect(attribute(input({ couponProblem: 'unknown_coupon' }))).toEqual({ ok: false, reason: 'unknown_coupon' });
  });
});
