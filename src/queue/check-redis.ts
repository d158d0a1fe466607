import type { RedisConfig } from '../config/configuration';
import { DependencyUnavailableError } from '../database/ensure-database';
import { createRedisClient, describeRedis } from './redis-client';

/** One clear line when Redis (or the Redis Cluster) cannot be reached, instead of a retry loop in the logs. */
export async function checkRedis(target: Pick<RedisConfig, 'url' | 'clusterNodes'>): Promise<void> {
  const client = createRedisClient(target, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 3000, retryStrategy: () => null, clusterRetryStrategy: () => null });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.ping();
  } catch (error) {
    const hint = target.clusterNodes.length
      ? 'check REDIS_CLUSTER_NODES (and that the cluster is created: redis-cli --cluster create)'
      : `start it (for example: redis-server --daemonize yes --port ${new URL(target.url).port || 6379}) or set REDIS_URL`;
    throw new DependencyUnavailableError(`${describeRedis(target)} is not reachable (${(error as Error).message}); ${hint}`);
  } finally {
    client.disconnect();
  }
}
