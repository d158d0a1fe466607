import { addDays, bpsToPercent, dayIn, daysBetween, formatDateTime, formatMoney, formatPeriod, formatRule, isDay, moneyInput, parsePercent } from './format';

describe('portal formatting', () => {
  it('shows minor units in the currency, exactly, whatever the exponent', () => {
    expect(formatMoney(123456, 'USD')).toBe('$1,234.56');
    expect(formatMoney(-5, 'EUR')).toBe('-€0.05');
    expect(formatMoney(1234, 'JPY')).toBe('¥1,234');
    expect(formatMoney(1234, 'BHD')).toBe('BHD\u00a01.234');
    expect(formatMoney(999_999_999_999_999, 'USD')).toBe('$9,999,999,999,999.99');
    expect(formatMoney(null, 'USD')).toBe('—');
    expect(formatMoney(5, null)).toBe('—');
    expect(moneyInput(1050, 'USD')).toBe('10.50');
  });

  it('turns percents into basis points and back without floats', () => {
    expect(parsePercent('12.5')).toBe(1250);
    expect(parsePercent('10')).toBe(1000);
    expect(parsePercent('0.01')).toBe(1);
    expect(parsePercent('100')).toBe(10000);
    expect(parsePercent('100.01')).toBeNull();
    expect(parsePercent('1.234')).toBeNull();
    expect(parsePercent('-1')).toBeNull();
    expect(bpsToPercent(1250)).toBe('12.5');
    expect(bpsToPercent(1000)).toBe('10');
    expect(bpsToPercent(1)).toBe('0.01');
    expect(formatRule({ type: 'percent', bps: 750 }, 'USD')).toBe('7.5%');
    expect(formatRule({ type: 'flat', amount: 300 }, 'EUR')).toBe('€3.00');
  });

  it('reads instants in the user’s time zone', () => {
    const at = new Date('2026-03-01T23:30:00Z');
    expect(dayIn(at, 'UTC')).toBe('2026-03-01');
    expect(dayIn(at, 'Europe/Berlin')).toBe('2026-03-02');
    expect(formatDateTime(at, 'America/New_York')).toBe('Mar 1, 2026, 18:30');
  });

  it('does calendar arithmetic on days', () => {
    expect(isDay('2026-02-29')).toBe(false);
    expect(isDay('2028-02-29')).toBe(true);
    expect(isDay('2026-13-01')).toBe(false);
    expect(addDays('2026-12-31', 1)).toBe('2027-01-01');
    expect(daysBetween('2026-02-27', '2026-03-02')).toEqual(['2026-02-27', '2026-02-28', '2026-03-01', '2026-03-02']);
  });

  it('shows a period [from, to) as the days it covers, the exclusive end not counted', () => {
    expect(formatPeriod('2026-03-01T05:00:00Z', '2026-04-01T04:00:00Z', 'America/New_York')).toBe('2026-03-01 – 2026-03-31');
    expect(formatPeriod('2026-03-01T00:00:00Z', '2026-03-02T00:00:00Z', 'UTC')).toBe('2026-03-01');
  });
});
