import { postingFailure } from './commissions.service';

describe('postingFailure', () => {
  const refused = new Error('unbalanced');
  const failed = new Map([['b', refused]]);

  it('is null when none of the ids failed', () => {
    expect(postingFailure(['a', 'c'], failed)).toBeNull();
  });

  it("answers one conversion's own error, whatever the case of its id", () => {
    expect(postingFailure(['B'], failed)).toBe(refused);
  });

  it('names each failed conversion of a job, and only those', () => {
    expect(postingFailure(['a', 'b', 'b'], failed)?.message).toBe('could not post conversion b (unbalanced)');
  });
});
