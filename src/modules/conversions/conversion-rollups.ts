import { EntityManager } from 'typeorm';
import { CONVERSION_CHANGED } from '../tracking/rollup-sql';
import type { Conversion, ConversionStatus } from './conversion.entity';

/** The counter a status lands in: paid stays with approved, so a payout run changes no report. */
const bucket = (status: ConversionStatus) => (status === 'paid' ? 'approved' : status);
const reported = (c: Pick<Conversion, 'offerId' | 'affiliateId' | 'currency' | 'status'>) => !!(c.offerId && c.affiliateId && c.currency) && c.status !== 'unattributed';

/** Report hook for a status change made in `manager`'s transaction (the row already holds `to`). */
export async function conversionStatusChanged(manager: EntityManager, conversion: Conversion, from: ConversionStatus, to: ConversionStatus): Promise<void> {
  if (!reported(conversion) || bucket(from) === bucket(to)) return;
  await manager.query(CONVERSION_CHANGED, [conversion.id, from]);
}
