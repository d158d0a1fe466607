import { TtlCache } from './ttl-cache';

describe('TtlCache', () => {
  let now = 0;
  const cache = () => new TtlCache<string>({ ttlMs: 100, negativeTtlMs: 10, maxEntries: 3, now: () => now });
  beforeEach(() => (now = 1_000));

  it('answers a fresh hit synchronously and loads again after the lifetime', async () => {
    const c = cache();
    const load = jest.fn(async (key: string) => `v:${key}`);
    expect(await c.get('a', load)).toBe('v:a');
    expect(c.get('a', load)).toBe('v:a');
    now += 99;
    expect(c.get('a', load)).toBe('v:a');
    now += 1;
    expect(await c.get('a', load)).toBe('v:a');
    expect(load).toHaveBeenCalledTimes(2);
  });

  it('shares one load between concurrent misses', async () => {
    const c = cache();
    const load = jest.fn(() => new Promise<string>((resolve) => setTimeout(() => resolve('x'), 5)));
    expect(await Promise.all([c.get('k', load), c.get('k', load), c.get('k', load)])).toEqual(['x', 'x', 'x']);
    expect(load).toHaveBeenCalledTimes(1);
  });

  it('caches absence briefly', async () => {
    const c = cache();
    const load = jest.fn(async () => null);
    expect(await c.get('missing', load)).toBeNull();
    expect(c.get('missing', load)).toBeNull();
    now += 10;
    await c.get('missing', load);
    expect(load).toHaveBeenCalledTimes(2);
  });

  it('does not cache a failed load', async () => {
    const c = cache();
    await expect(c.get('k', async () => Promise.reject(new Error('db down')))).rejects.toThrow('db down');
    expect(await c.get('k', async () => 'back')).toBe('back');
  });

  it('evicts the oldest entry beyond its size, and forgets on delete and clear', async () => {
    const c = cache();
    for (const key of ['a', 'b', 'c', 'd']) c.set(key, key);
    expect(c.peek('a')).toBeUndefined();
    expect(c.peek('d')).toBe('d');
    c.delete('d');
    expect(c.peek('d')).toBeUndefined();
    c.clear();
    expect(c.peek('b')).toBeUndefined();
  });

  it('caches nothing with a zero lifetime', async () => {
    const c = new TtlCache<string>({ ttlMs: 0, negativeTtlMs: 0, maxEntries: 10 });
    const load = jest.fn(async () => 'v');
    await c.get('k', load);
    await c.get('k', load);
    expect(load).toHaveBeenCalledTimes(2);
  });
});
