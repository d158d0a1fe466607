import fc from 'fast-check';
import { clip, qualityDecision, riskOf } from './risk';

describe('risk scores', () => {
  it('no reasons: score 0', () => {
    expect(riskOf([])).toEqual({ score: 0, reasons: [] });
  });

  it('reasons combine as independent evidence, each code once (first detail kept), in code order', () => {
    const risk = riskOf(
      [{ code: 'datacenter_ip', detail: 'AS14061 DigitalOcean' }],
      [
        { code: 'ip_flood', detail: '40 clicks' },
        { code: 'datacenter_ip', detail: 'again' },
      ],
    );
    // 1 − (1 − 0.45)(1 − 0.40) = 0.67
    expect(risk).toEqual({
      score: 67,
      reasons: [
        { code: 'ip_flood', detail: '40 clicks' },
        { code: 'datacenter_ip', detail: 'AS14061 DigitalOcean' },
      ],
    });
  });

  it('one weak signal stays under the default hold, several reach it', () => {
    expect(riskOf([{ code: 'bot_user_agent', detail: 'x' }]).score).toBeLessThan(60);
    expect(
      riskOf([
        { code: 'bot_user_agent', detail: 'x' },
        { code: 'fast_conversion', detail: 'x' },
      ]).score,
    ).toBeLessThan(60);
    expect(
      riskOf([
        { code: 'bot_user_agent', detail: 'x' },
        { code: 'datacenter_ip', detail: 'x' },
      ]).score,
    ).toBeGreaterThanOrEqual(60);
  });

  it('the policy: reject at or above rejectAbove, hold at or above holdAbove (60 by default), null turns either off', () => {
    expect(qualityDecision(59, null)).toBeNull();
    expect(qualityDecision(60, null)).toBe('hold');
    expect(qualityDecision(90, { holdAbove: 60, rejectAbove: 90 })).toBe('reject');
    expect(qualityDecision(89, { holdAbove: 60, rejectAbove: 90 })).toBe('hold');
    expect(qualityDecision(100, { holdAbove: null, rejectAbove: null })).toBeNull();
  });
});

describe('clip', () => {
  it('never splits a character in two, and keeps text that fits', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 30 }), fc.integer({ min: 1, max: 30 }), (text, max) => {
        const clipped = clip(text, max);
        expect(text.startsWith(clipped)).toBe(true);
        expect(clipped.length).toBeLessThanOrEqual(max);
        expect(clipped.length).toBeGreaterThanOrEqual(Math.min(text.length, max) - 1);
        // A high surrogate never ends what was cut from longer text.
        if (clipped.length < text.length && clipped.length > 0) expect(clipped.charCodeAt(clipped.length - 1) >> 10).not.toBe(0xd800 >> 10);
      }),
    );
    expect(clip('ab😀', 3)).toBe('ab');
    expect(clip('ab😀', 4)).toBe('ab😀');
  });
});
