import { CONVERSION_STATUSES, ConversionStatus } from './conversion.entity';
import { canTransition } from './lifecycle';

/** Every allowed move, written out: anything else is refused. */
const ALLOWED = new Set<string>([
  'pending→approved',
  'pending→rejected',
  'pending→reversed',
  'approved→rejected',
  'approved→reversed',
  'approved→paid',
  'paid→reversed',
]);

const pairs = CONVERSION_STATUSES.flatMap((from) => CONVERSION_STATUSES.map((to) => [from, to] as [ConversionStatus, ConversionStatus]));

describe('conversion lifecycle', () => {
  it.each(pairs)('%s → %s', (from, to) => {
    expect(canTransition(from, to)).toBe(ALLOWED.has(`${from}→${to}`));
  });

  it('never stays in place, never returns to pending, and ends in rejected, reversed or unattributed', () => {
    for (const status of CONVERSION_STATUSES) {
      expect(canTransition(status, status)).toBe(false);
      expect(canTransition(status, 'pending')).toBe(false);
      expect(canTransition(status, 'unattributed')).toBe(false);
    }
    for (const end of ['rejected', 'reversed', 'unattributed'] as const) {
      expect(CONVERSION_STATUSES.filter((to) => canTransition(end, to))).toEqual([]);
    }
  });

  it('reaches paid only from approved', () => {
    expect(CONVERSION_STATUSES.filter((from) => canTransition(from, 'paid'))).toEqual(['approved']);
  });
});
