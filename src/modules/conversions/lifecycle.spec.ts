import { CONVERSION_STATUSES, ConversionStatus } from './conversion.entity';
import { allowedTransitions, canTransition, PAYOUT_TRANSITIONS } from './lifecycle';

/** Every allowed move, written out: anything else is refused. */
const ALLOWED = new Set<string>(['pending→approved', 'pending→rejected', 'pending→reversed', 'approved→rejected', 'approved→reversed', 'approved→paid', 'paid→reversed']);

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

describe('conversion lifecycle: the payout moves', () => {
  it('allows exactly these moves: the decided ones and the two a payout makes', () => {
    expect(allowedTransitions()).toEqual([
      'pending → approved',
      'pending → rejected',
      'pending → reversed',
      'approved → rejected',
      'approved → reversed',
      'approved → paid',
      'paid → reversed',
      'approved → paid (payout)',
      'paid → approved (payout)',
    ]);
  });

  it('names the payout moves payoutPaid (approved → paid) and payoutFailed (paid → approved)', () => {
    expect(PAYOUT_TRANSITIONS.payoutPaid).toMatchObject({ from: 'approved', to: 'paid' });
    expect(PAYOUT_TRANSITIONS.payoutFailed).toMatchObject({ from: 'paid', to: 'approved' });
  });

  it('never lets a decision take a paid conversion back to approved, nor reach paid but from approved: only a payout moves them', () => {
    expect(canTransition('paid', 'approved')).toBe(false);
    for (const from of CONVERSION_STATUSES) expect(canTransition(from, 'paid')).toBe(from === 'approved');
  });
});
