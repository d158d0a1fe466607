import { CONVERSION_STATUSES } from './conversion.entity';
import { allowedTransitions, canTransition, PAYOUT_TRANSITIONS } from './lifecycle';

describe('conversion lifecycle', () => {
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
