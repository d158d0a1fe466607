import { Cluster } from 'ioredis';
import { parseClusterNodes } from '../config/configuration';
import { ConfigError, validateEnvironment } from '../config/env.validation';
import { checkRedis } from './check-redis';
import { createRedisClient, queuePrefix } from './redis-client';

describe('Redis Cluster settings', () => {
  it('reads REDIS_CLUSTER_NODES as a node list, IPv6 in brackets', () => {
    expect(parseClusterNodes(' 10.0.0.1:7000, redis-2:7001,[::1]:7002 ')).toEqual([
      { host: '10.0.0.1', port: 7000 },
      { host: 'redis-2', port: 7001 },
      { host: '::1', port: 7002 },
    ]);
    expect(parseClusterNodes(undefined)).toEqual([]);
  });

  it('refuses a node without a port, naming the setting', () => {
    expect(() => validateEnvironment({ REDIS_CLUSTER_NODES: '10.0.0.1:7000,redis-2' })).toThrow(ConfigError);
    expect(() => validateEnvironment({ REDIS_CLUSTER_NODES: '10.0.0.1:7000,redis-2' })).toThrow(/REDIS_CLUSTER_NODES/);
    expect(validateEnvironment({ REDIS_CLUSTER_NODES: '10.0.0.1:7000,redis-2:7001' }).REDIS_CLUSTER_NODES).toBe('10.0.0.1:7000,redis-2:7001');
  });

  it('gives each queue a hash tag of its own on a cluster, and keeps the one shared tag on one Redis', () => {
    const cluster = [{ host: '127.0.0.1', port: 7000 }];
    expect(queuePrefix({ queuePrefix: 'afx', clusterNodes: cluster }, 'payouts')).toBe('{afx:payouts}');
    expect(queuePrefix({ queuePrefix: 'afx', clusterNodes: [] }, 'payouts')).toBe('{afx}');
  });

  it('builds a Cluster client with the credentials of REDIS_URL, and a plain client without nodes', () => {
    const cluster = createRedisClient(
      { url: 'redis://app:s%40cret@ignored:6379', clusterNodes: [{ host: '127.0.0.1', port: 7000 }] },
      { lazyConnect: true, maxRetriesPerRequest: null },
    );
    expect(cluster).toBeInstanceOf(Cluster);
    expect((cluster as Cluster).options.redisOptions).toMatchObject({ username: 'app', password: 's@cret', maxRetriesPerRequest: null });
    const single = createRedisClient({ url: 'redis://127.0.0.1:6379', clusterNodes: [] }, { lazyConnect: true });
    expect(single).not.toBeInstanceOf(Cluster);
    cluster.disconnect();
    single.disconnect();
  });

  it('says in one line when REDIS_CLUSTER_NODES points at a Redis that is not a cluster', async () => {
    await expect(checkRedis({ url: 'redis://127.0.0.1:6379', clusterNodes: [{ host: '127.0.0.1', port: 6379 }] })).rejects.toThrow(
      /the Redis Cluster at 127\.0\.0\.1:6379 is not reachable .*REDIS_CLUSTER_NODES/,
    );
  });
});
