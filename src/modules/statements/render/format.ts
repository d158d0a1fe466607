import { formatMinorUnits } from '../../../common/money';
import { StatementLineType, StatementModel } from './statement.model';

export const LINE_TYPE_LABELS: Readonly<Record<StatementLineType, string>> = {
  conversion: 'Conversion',
  reversal: 'Reversal',
  clawback: 'Clawback',
  payout: 'Payout',
  payout_returned: 'Payout returned',
  payout_reversed: 'Payout reversed',
  adjustment: 'Adjustment',
  bonus: 'Bonus',
  bonus_clawback: 'Bonus clawed back',
};

/** `-1234567.50` → `-1,234,567.50`: grouping done on the digits, never through a float. */
export function groupThousands(decimal: string): string {
  const match = /^(-?)(\d+)(\.\d+)?$/.exec(decimal);
  if (!match) throw new Error(`not a decimal string: ${JSON.stringify(decimal)}`);
  const [, sign, whole, fraction = ''] = match;
  return sign + whole.replace(/\B(?=(\d{3})+$)/g, ',') + fraction;
}

/** Minor units as people read them: `123450, 'USD'` → `1,234.50 USD`. */
export function formatMoney(amount: number, currency: string): string {
  return `${groupThousands(formatMinorUnits(amount, currency))} ${currency}`;
}

interface ZonedParts {
  date: string;
  time: string;
  midnight: boolean;
}

const zonedFormats = new Map<string, Intl.DateTimeFormat>();

function zonedFormat(timeZone: string): Intl.DateTimeFormat {
  let format = zonedFormats.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    zonedFormats.set(timeZone, format);
  }
  return format;
}

/** The wall-clock date and time of `at` in an IANA time zone; throws RangeError for an unknown zone. */
function zonedParts(at: Date, timeZone: string): ZonedParts {
  const parts: Record<string, string> = {};
  for (const part of zonedFormat(timeZone).formatToParts(at)) parts[part.type] = part.value;
  return {
    date: `${parts.year}-${parts.month}-${parts.day}`,
    time: `${parts.hour}:${parts.minute}`,
    midnight: parts.hour === '00' && parts.minute === '00' && parts.second === '00' && at.getUTCMilliseconds() === 0,
  };
}

/** `2025-01-31 14:05` in `timeZone`. */
export function formatDateTime(at: Date, timeZone: string): string {
  const { date, time } = zonedParts(at, timeZone);
  return `${date} ${time}`;
}

/**
 * The half-open period as people say it: whole local days print as `2025-01-01 to 2025-01-31`
 * (the last day included, not the exclusive end); anything else prints both instants.
 */
export function formatPeriod(period: StatementModel['period']): string {
  const from = zonedParts(period.from, period.timezone);
  const to = zonedParts(period.to, period.timezone);
  if (from.midnight && to.midnight) {
    const lastDay = zonedParts(new Date(period.to.getTime() - 1), period.timezone);
    return `${from.date} to ${lastDay.date}`;
  }
  return `${from.date} ${from.time} to ${to.date} ${to.time}`;
}
