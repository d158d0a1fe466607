import { dtoFromForm, formFromBody, formFromOffer } from './offer-form';
import type { OfferView } from '../../offers/dto/offer.dto';

const body = (payout: string) => ({
  name: 'Tents',
  landingUrl: 'https://shop.example/?c={click_id}',
  'goals.0.key': 'sale',
  'goals.0.revenue.type': 'flat',
  'goals.0.revenue.value': '20',
  'goals.0.payout.type': 'tiered',
  'goals.0.payout.value': payout,
});
const payoutOf = (payout: string, currency = 'USD') => dtoFromForm(formFromBody(body(payout), currency), currency);

describe('the offer editor: tiered rules', () => {
  it('reads tiers of conversions and of sale amount, flat or percent, exactly', () => {
    expect(payoutOf('0=3.00; 50=4.50; 100=12.5%').dto.goals).toMatchObject([
      {
        payout: {
          type: 'tiered',
          basis: 'conversions',
          period: 'month',
          tiers: [
            { from: 0, rule: { type: 'flat', amount: 300 } },
            { from: 50, rule: { type: 'flat', amount: 450 } },
            { from: 100, rule: { type: 'percent', bps: 1250 } },
          ],
        },
      },
    ]);
    expect(payoutOf('sales: 0=10%; 1000.50=12%').dto.goals).toMatchObject([
      {
        payout: {
          basis: 'saleAmount',
          tiers: [
            { from: 0, rule: { type: 'percent', bps: 1000 } },
            { from: 100050, rule: { type: 'percent', bps: 1200 } },
          ],
        },
      },
    ]);
  });

  it('names the tier it cannot read', () => {
    expect(payoutOf('0=3.00; fifty=4').fields).toEqual({ 'goals.0.payout': 'tier 2: the start must be a whole number' });
    expect(payoutOf('0=3.001').fields['goals.0.payout']).toMatch(/^tier 1: /);
    expect(payoutOf('0=3=4').fields['goals.0.payout']).toMatch(/start=rule/);
    expect(payoutOf(';').fields['goals.0.payout']).toMatch(/must list tiers/);
  });

  it('shows a stored tiered rule back as typed', () => {
    const offer = {
      currency: 'USD',
      caps: {},
      goals: [
        {
          key: 'sale',
          name: null,
          revenue: { type: 'flat', amount: 2000 },
          payout: {
            type: 'tiered',
            basis: 'saleAmount',
            period: 'month',
            tiers: [
              { from: 0, rule: { type: 'flat', amount: 300 } },
              { from: 100000, rule: { type: 'percent', bps: 1200 } },
            ],
          },
        },
      ],
    } as unknown as OfferView;
    expect(formFromOffer(offer).goals[0].payout).toEqual({ type: 'tiered', value: 'sales: 0.00=3.00; 1000.00=12%' });
  });
});
