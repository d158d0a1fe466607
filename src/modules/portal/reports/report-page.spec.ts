import type { StatsRowView, StatsView } from '../../reports/dto/reports.dto';
import { change, formatFigure, measurePerDay, MEASURES, measuresFor, perUnit, previousPeriod, reportCsv, sortRows } from './report-page';

const row = (over: Partial<StatsRowView>): StatsRowView =>
  ({
    currency: 'USD',
    clicks: 0,
    uniqueClicks: 0,
    blockedClicks: 0,
    conversions: 0,
    pending: 0,
    approved: 0,
    rejected: 0,
    reversed: 0,
    saleAmount: 0,
    conversionRate: null,
    approvalRate: null,
    cpa: null,
    cpl: null,
    ...over,
  }) as StatsRowView;

describe('the portal report page', () => {
  it('shows each role only its measures: affiliates no cost or ROI, advertisers no payout or EPC', () => {
    expect(measuresFor('affiliate').map((m) => m.label)).toEqual([
      'Clicks',
      'Unique clicks',
      'Conversions',
      'CR',
      'Approved',
      'Approval rate',
      'Sales',
      'Earnings',
      'EPC',
      'CPA',
      'CPL',
    ]);
    expect(measuresFor('advertiser').map((m) => m.label)).toEqual([
      'Clicks',
      'Unique clicks',
      'Conversions',
      'CR',
      'Approved',
      'Approval rate',
      'Sales',
      'Cost',
      'CPA',
      'CPL',
      'ROI',
    ]);
    expect(measuresFor('finance').map((m) => m.label)).toContain('Margin');
  });

  it('formats counts, rates, money and money per unit', () => {
    expect(formatFigure(12345, 'count', 'USD')).toBe('12,345');
    expect(formatFigure(0.1234, 'rate', 'USD')).toBe('12.34%');
    expect(formatFigure(1050, 'money', 'EUR')).toBe('€10.50');
    expect(formatFigure(2538.75, 'unit', 'USD')).toBe('$25.3875');
    expect(formatFigure(3000, 'unit', 'JPY')).toBe('¥3,000');
    expect(formatFigure(null, 'rate', 'USD')).toBe('—');
    expect(perUnit(2538.75, 'USD')).toBe('25.3875');
  });

  it('compares with the period of the same length just before', () => {
    expect(previousPeriod('2026-03-01', '2026-03-31')).toEqual({ from: '2026-01-29', to: '2026-02-28' });
    expect(change(150, 100)).toBe(0.5);
    expect(change(5, 0)).toBeNull();
  });

  it('sorts by a measure with nulls last, or by the group', () => {
    const rows = [row({ channel: 'seo', cpa: null }), row({ channel: 'email', cpa: 500 }), row({ channel: 'social', cpa: 900 })];
    const name = (r: StatsRowView) => String(r.channel);
    expect(sortRows(rows, 'cpa', 'desc', 'channel', name).map(name)).toEqual(['social', 'email', 'seo']);
    expect(sortRows(rows, 'cpa', 'asc', 'channel', name).map(name)).toEqual(['email', 'social', 'seo']);
    expect(sortRows(rows, 'group', 'asc', 'channel', name).map(name)).toEqual(['email', 'seo', 'social']);
  });

  it('charts money one series per currency, each on its own axis, and rates from the day’s counts', () => {
    const stats = {
      data: [
        row({ day: '2026-03-01', currency: 'EUR', revenue: 1000, clicks: 4, conversions: 1 }),
        row({ day: '2026-03-02', currency: 'USD', revenue: 250, clicks: 1, conversions: 1 }),
      ],
      totals: {},
    } as unknown as StatsView;
    const cost = MEASURES.find((m) => m.key === 'revenue') as (typeof MEASURES)[number];
    expect(measurePerDay('2026-03-01', '2026-03-02', stats, cost).series).toEqual([
      { label: 'Cost (EUR)', currency: 'EUR', values: ['10.00', '0.00'] },
      { label: 'Cost (USD)', currency: 'USD', values: ['0.00', '2.50'] },
    ]);
    const cr = MEASURES.find((m) => m.key === 'conversionRate') as (typeof MEASURES)[number];
    expect(measurePerDay('2026-03-01', '2026-03-03', stats, cr).series).toEqual([{ label: 'CR (%)', scale: 'n', values: ['25.00', '100.00', null] }]);
  });

  it('writes CSV with money as decimals, ids beside names, and formula-like text made inert', () => {
    const rows = [row({ offerId: 'o-1', clicks: 3, saleAmount: 1999, cpa: 250 }), row({ sub1: '=cmd()', clicks: 1 })];
    const measures = measuresFor('affiliate').filter((m) => ['clicks', 'saleAmount', 'cpa'].includes(m.key));
    expect(reportCsv(rows.slice(0, 1), 'offer', measures, () => 'Tents, summer')).toBe(
      'Offer,offer_id,currency,clicks,saleAmount,cpa\r\n"Tents, summer",o-1,USD,3,19.99,2.5000\r\n',
    );
    expect(reportCsv(rows.slice(1), 'sub1', measures, (r) => String(r.sub1))).toContain(`"'=cmd()",USD,1`);
  });
});
