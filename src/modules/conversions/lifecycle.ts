import type { ConversionStatus } from './conversion.entity';

/** Which status may follow which; `paid` is reached only through a payout. */
const ALLOWED: Record<ConversionStatus, readonly ConversionStatus[]> = {
  pending: ['approved', 'rejected', 'reversed'],
  approved: ['rejected', 'reversed', 'paid'],
  paid: ['reversed'],
  rejected: [],
  reversed: [],
  unattributed: [],
};

export function canTransition(from: ConversionStatus, to: ConversionStatus): boolean {
  return ALLOWED[from].includes(to);
}
