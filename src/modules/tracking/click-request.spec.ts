import { generateLinkCode } from './links.service';
import { cleanText, clickClient, clickSubIds } from './click-request';

describe('click request parsing', () => {
  const defaults = { sub1: 'd1', sub2: 'd2', sub3: null, sub4: null, sub5: 'd5' };

  it('overrides the link defaults with the query, empty values and others left alone', () => {
    expect(clickSubIds({ sub1: 'q1', sub2: '', sub3: ['first', 'second'], foo: 'bar' }, defaults)).toEqual({
      sub1: 'q1',
      sub2: 'd2',
      sub3: 'first',
      sub4: null,
      sub5: 'd5',
    });
    expect(clickSubIds(undefined, defaults)).toEqual(defaults);
  });

  it('cuts at 255 characters without splitting a surrogate pair', () => {
    expect(cleanText('x'.repeat(2048), 255)).toBe('x'.repeat(255));
    const emoji = cleanText('😀'.repeat(300), 255) as string;
    expect(Array.from(emoji)).toHaveLength(255);
    expect(() => encodeURIComponent(emoji)).not.toThrow();
  });

  it('replaces lone surrogates and drops NUL, so URL encoding and PostgreSQL accept it', () => {
    const text = cleanText('a\uD800b\u0000c\uDC00', 255) as string;
    expect(text).toBe('a\uFFFDbc\uFFFD');
    expect(() => encodeURIComponent(text)).not.toThrow();
  });

  it('ignores what is not a string', () => {
    for (const value of [undefined, null, 42, {}, [], [42]]) expect(cleanText(value, 10)).toBeNull();
  });

  it('keeps the client IP only if it is one', () => {
    expect(clickClient('203.0.113.9', {}).ip).toBe('203.0.113.9');
    expect(clickClient('2001:db8::1', {}).ip).toBe('2001:db8::1');
    for (const ip of ['not-an-ip', '1.2.3.4, 5.6.7.8', '', undefined]) expect(clickClient(ip, {}).ip).toBeNull();
    expect(clickClient('203.0.113.9', { 'user-agent': 'u'.repeat(600), referer: 'https://r.example/' })).toEqual({
      ip: '203.0.113.9',
      userAgent: 'u'.repeat(512),
      referrer: 'https://r.example/',
    });
  });

  it('makes 10-character base62 link codes with no visible bias', () => {
    const counts = new Map<string, number>();
    for (let i = 0; i < 6200; i++) {
      const code = generateLinkCode();
      expect(code).toMatch(/^[A-Za-z0-9]{10}$/);
      for (const char of code) counts.set(char, (counts.get(char) ?? 0) + 1);
    }
    expect(counts.size).toBe(62);
    // 62 000 characters, 1 000 expected each: every count within ±20 %.
    for (const count of counts.values()) expect(Math.abs(count - 1000)).toBeLessThan(200);
  });
});
