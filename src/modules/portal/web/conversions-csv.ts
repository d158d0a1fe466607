import { formatMinorUnits } from '../../../common/money';
import type { Conversion } from '../../conversions/conversion.entity';

/** A CSV cell: quoted when it holds a separator, and text a spreadsheet would run as a formula made inert. */
export function csvCell(value: unknown): string {
  let text = value === null || value === undefined ? '' : value instanceof Date ? value.toISOString() : String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\n\r]/.test(text) || text.startsWith("'") ? `"${text.replace(/"/g, '""')}"` : text;
}

const money = (amount: number | null | undefined, currency: string | null) => (amount === null || amount === undefined || !currency ? '' : formatMinorUnits(amount, currency));

/** The advertiser's conversions as CSV: what the page shows, money as decimals, times in UTC (ISO 8601). */
export function conversionsCsv(rows: Conversion[], offerNames: Map<string, string>, affiliateNames: Map<string, string>): string {
  const header = ['created_at', 'txn_id', 'offer', 'offer_id', 'goal', 'affiliate', 'affiliate_id', 'status', 'reason', 'currency', 'sale_amount', 'cost'];
  const lines = rows.map((c) => [
    c.createdAt,
    c.txnId,
    offerNames.get(c.offerId as string) ?? '',
    c.offerId,
    c.goalKey,
    affiliateNames.get(c.affiliateId as string) ?? '',
    c.affiliateId,
    c.status,
    c.reason,
    c.currency,
    money(c.saleAmount, c.currency),
    c.status === 'rejected' || c.status === 'unattributed' ? '' : money(c.revenue, c.currency),
  ]);
  return [header, ...lines].map((line) => line.map(csvCell).join(',')).join('\r\n') + '\r\n';
}
