import { DUMMY_HASH, hashPassword, passwordProblem, verifyPassword } from './passwords';

describe('portal passwords', () => {
  it('hashes with a fresh salt each time and verifies only the right password', async () => {
    const [a, b] = await Promise.all([hashPassword('correct horse battery'), hashPassword('correct horse battery')]);
    expect(a).toMatch(/^scrypt\$32768\$8\$1\$[\w-]{22}\$[\w-]{43}$/);
    expect(a).not.toBe(b);
    expect(await verifyPassword('correct horse battery', a)).toBe(true);
    expect(await verifyPassword('correct horse batterY', a)).toBe(false);
    expect(await verifyPassword('', a)).toBe(false);
  });

  it('treats unknown or broken hashes as a mismatch, and the dummy hash matches nothing', async () => {
    expect(await verifyPassword('x', 'bcrypt$whatever')).toBe(false);
    expect(await verifyPassword('x', '')).toBe(false);
    expect(await verifyPassword('AAAAAAAAAAAA', DUMMY_HASH)).toBe(false);
  });

  it('refuses short passwords and the email itself', () => {
    expect(passwordProblem('short', 'a@b.c')).toMatch(/12 characters/);
    expect(passwordProblem('Jane@Example.test', 'jane@example.test')).toMatch(/email/);
    expect(passwordProblem('a long enough passphrase', 'a@b.c')).toBeNull();
  });
});
