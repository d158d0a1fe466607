import fc from 'fast-check';
import { ROLES } from './principal.entity';
import { API_KEY_PATTERN, displayPrefix, generateApiKey, generatePostbackToken, hashApiKey, KEY_PREFIX } from './api-key.util';

describe('API keys', () => {
  it.each(ROLES)('a generated %s key is one authentication accepts, under its role’s prefix', (role) => {
    const key = generateApiKey(role);
    expect(key.startsWith(KEY_PREFIX[role])).toBe(true);
    expect(key).toMatch(API_KEY_PATTERN);
    expect(generateApiKey(role)).not.toBe(key);
  });

  it('shows only the role prefix and six characters of the secret', () => {
    fc.assert(
      fc.property(fc.constantFrom(...ROLES), (role) => {
        const key = generateApiKey(role);
        const shown = displayPrefix(key);
        expect(key.startsWith(shown)).toBe(true);
        expect(shown.length - KEY_PREFIX[role].length).toBe(6);
      }),
    );
  });

  it('hashes to 32 bytes, the same for the same key and different for different keys', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), fc.string({ minLength: 1 }), (a, b) => {
        expect(hashApiKey(a)).toHaveLength(32);
        expect(hashApiKey(a).equals(hashApiKey(a))).toBe(true);
        if (a !== b) expect(hashApiKey(a).equals(hashApiKey(b))).toBe(false);
      }),
    );
  });

  it('refuses what is not a key before any look-up', () => {
    for (const bad of ['', 'afx_adm_short', 'afx_xyz_' + 'a'.repeat(30), 'AFX_ADM_' + 'a'.repeat(30), 'afx_adm_' + 'a'.repeat(30) + ' ', 'afx_adm_' + 'a'.repeat(101)]) {
      expect(bad).not.toMatch(API_KEY_PATTERN);
    }
  });
});

describe('postback tokens', () => {
  it('are pbt_ and 32 URL-safe characters, new each time', () => {
    const token = generatePostbackToken();
    expect(token).toMatch(/^pbt_[A-Za-z0-9_-]{32}$/);
    expect(generatePostbackToken()).not.toBe(token);
  });
});
