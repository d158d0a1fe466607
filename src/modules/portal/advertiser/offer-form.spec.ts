import { dtoFromForm, formFromBody, formFromOffer } from './offer-form';
import type { OfferView } from '../../offers/dto/offer.dto';

const body = (extra: Record<string, string> = {}) => ({
  name: 'Tents',
  landingUrl: 'https://shop.example/?c={click_id}',
  status: 'active',
  visibility: 'public',
  attributionWindowDays: '30',
  lockPeriodDays: '0',
  attributionPriority: 'coupon_first',
  minClickToConversionSeconds: '0',
  'goals.0.key': 'sale',
  'goals.0.revenue.type': 'percent',
  'goals.0.revenue.value': '12.5',
  'goals.0.payout.type': 'flat',
  'goals.0.payout.value': '3.05',
  'goals.0.overrides.0.affiliateId': '0e6f2d1c-1111-4a4a-8b8b-123456789abc',
  'goals.0.overrides.0.type': 'flat',
  'goals.0.overrides.0.value': '4',
  ...extra,
});

describe('the offer editor form', () => {
  it('turns typed amounts and percents into exact minor units and basis points', () => {
    const { dto, fields } = dtoFromForm(formFromBody(body({ 'caps.revenueBudget': '1000.10', 'caps.dailyConversions': '50' }), 'USD'), 'USD');
    expect(fields).toEqual({});
    expect(dto).toMatchObject({
      lockPeriodDays: 0,
      caps: { revenueBudget: 100010, dailyConversions: 50 },
      goals: [
        {
          key: 'sale',
          revenue: { type: 'percent', bps: 1250 },
          payout: { type: 'flat', amount: 305 },
          overrides: [{ affiliateId: '0e6f2d1c-1111-4a4a-8b8b-123456789abc', payout: { type: 'flat', amount: 400 } }],
        },
      ],
    });
    expect(dtoFromForm(formFromBody(body({ 'goals.0.payout.value': '305' }), 'JPY'), 'JPY').dto.goals).toMatchObject([{ payout: { type: 'flat', amount: 305 } }]);
  });

  it('names the field of an amount it cannot convert', () => {
    const { fields } = dtoFromForm(formFromBody(body({ 'goals.0.payout.value': '3.055', 'goals.0.revenue.value': '101', 'goals.0.overrides.0.value': 'x' }), 'USD'), 'USD');
    expect(fields).toEqual({
      'goals.0.payout': 'USD allows at most 2 decimal places: 3.055',
      'goals.0.revenue': 'must be a percent from 0 to 100 with at most two decimals',
      'goals.0.overrides.0.payout': 'must be an amount in USD, such as 12.50',
    });
  });

  it('adds and removes rows without saving', () => {
    expect(formFromBody(body({ _action: 'add_goal' }), 'USD').goals).toHaveLength(2);
    expect(formFromBody(body({ _action: 'add_override:0' }), 'USD').goals[0].overrides).toHaveLength(2);
    expect(formFromBody(body({ 'goals.0.overrides.0.remove': '1' }), 'USD').goals[0].overrides).toHaveLength(0);
    expect(formFromBody(body({ 'goals.0.remove': '1' }), 'USD').goals).toEqual([expect.objectContaining({ key: '' })]);
  });

  it('shows a stored offer back in the units people type', () => {
    const form = formFromOffer({
      name: 'Tents',
      description: null,
      landingUrl: 'https://x.example',
      fallbackUrl: null,
      currency: 'EUR',
      status: 'active',
      visibility: 'public',
      attributionWindowDays: 30,
      lockPeriodDays: 30,
      attributionPriority: 'coupon_first',
      minClickToConversionSeconds: 0,
      caps: { revenueBudget: 500000 },
      goals: [{ key: 'lead', name: null, revenue: { type: 'flat', amount: 2500 }, payout: { type: 'percent', bps: 750 }, overrides: [] }],
    } as unknown as OfferView);
    expect(form.caps).toEqual({ revenueBudget: '5000.00' });
    expect(form.goals[0]).toMatchObject({ revenue: { type: 'flat', value: '25.00' }, payout: { type: 'percent', value: '7.5' } });
  });
  it('reads the recurring field: months, life (any case), empty for none, anything else named', () => {
    const recurring = (value: string) => dtoFromForm(formFromBody(body({ 'goals.0.recurring': value }), 'USD'), 'USD');
    expect((recurring('12').dto.goals as { recurring: unknown }[])[0].recurring).toEqual({ months: 12 });
    expect((recurring('Life').dto.goals as { recurring: unknown }[])[0].recurring).toEqual({ months: null });
    expect((recurring('').dto.goals as { recurring: unknown }[])[0].recurring).toBeNull();
    expect(recurring('a year').fields).toEqual({ 'goals.0.recurring': 'must be a number of months, such as 12, or life' });
    const shown = (months: number | null) =>
      formFromOffer({
        currency: 'USD',
        caps: {},
        goals: [{ key: 'sale', recurring: { months }, revenue: { type: 'flat', amount: 1 }, payout: { type: 'flat', amount: 1 } }],
      } as unknown as OfferView).goals[0].recurring;
    expect([shown(6), shown(null)]).toEqual(['6', 'life']);
  });
});
