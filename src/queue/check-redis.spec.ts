import { checkRedis, redisWarnings } from './check-redis';

describe('the start check of Redis', () => {
  it('warns unless the policy is noeviction and the append-only file is on', () => {
    expect(redisWarnings({ maxmemoryPolicy: 'noeviction', appendonly: true, snapshots: false })).toEqual([]);
    expect(redisWarnings({ maxmemoryPolicy: 'allkeys-lru', appendonly: true, snapshots: true })).toEqual([
      expect.stringMatching(/^maxmemory-policy is allkeys-lru: .*noeviction$/),
    ]);
    expect(redisWarnings({ maxmemoryPolicy: 'noeviction', appendonly: false, snapshots: true })).toEqual([expect.stringMatching(/^appendonly is off \(RDB snapshots only\)/)]);
    expect(redisWarnings({ maxmemoryPolicy: null, appendonly: null, snapshots: null })).toEqual([expect.stringMatching(/could not read maxmemory-policy/)]);
  });

  it('reads the configuration of the real server', async () => {
    const warnings = await checkRedis({ url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', clusterNodes: [] });
    const policy = warnings.find((w) => w.startsWith('maxmemory-policy'));
    // Whatever the test server's configuration, the answer names what it found, never a guess.
    for (const warning of warnings) expect(warning).toMatch(/^(maxmemory-policy is \S+|appendonly is off|could not read)/);
    expect(policy === undefined || !policy.startsWith('maxmemory-policy is noeviction')).toBe(true);
  });

  it('refuses with one line when Redis is not there', async () => {
    await expect(checkRedis({ url: 'redis://127.0.0.1:1', clusterNodes: [] })).rejects.toThrow(/^Redis at 127\.0\.0\.1:1 is not reachable/);
  });
});
