import type { RedisConfig } from '../config/configuration';
import { DependencyUnavailableError } from '../database/ensure-database';
import { createRedisClient, describeRedis, RedisClient } from './redis-client';

/** What the start checks of a Redis server's configuration (README, "Operations"). */
export interface RedisDurability {
  /** maxmemory-policy; null when the server refuses CONFIG (managed services often do). */
  maxmemoryPolicy: string | null;
  appendonly: boolean | null;
  /** RDB snapshots configured (`save` not empty). */
  snapshots: boolean | null;
}

/**
 * The warnings a Redis configuration earns: a policy other than noeviction lets Redis drop
 * queued jobs when memory runs out; without the append-only file a restart loses the jobs of the
 * last moments (the outbox is re-relayed from PostgreSQL, docs/operations.md says how).
 */
export function redisWarnings(durability: RedisDurability): string[] {
  const warnings: string[] = [];
  if (durability.maxmemoryPolicy === null) warnings.push('could not read maxmemory-policy (CONFIG refused): make sure it is noeviction');
  else if (durability.maxmemoryPolicy !== 'noeviction')
    warnings.push(`maxmemory-policy is ${durability.maxmemoryPolicy}: Redis may evict queued jobs when memory runs out; set it to noeviction`);
  if (durability.appendonly === false)
    warnings.push(
      `appendonly is off${durability.snapshots ? ' (RDB snapshots only)' : ''}: a Redis restart loses the jobs of the last moments; turn appendonly on (see docs/operations.md)`,
    );
  return warnings;
}

async function configValue(client: RedisClient, name: string): Promise<string | null> {
  try {
    const answer = (await (client as { config(op: 'GET', name: string): Promise<unknown> }).config('GET', name)) as string[];
    return answer.length >= 2 ? answer[1] : null;
  } catch {
    return null;
  }
}

/**
 * One clear line when Redis (or the Redis Cluster) cannot be reached, instead of a retry loop in
 * the logs; answers the warnings its configuration earns (see redisWarnings).
 */
export async function checkRedis(target: Pick<RedisConfig, 'url' | 'clusterNodes'>): Promise<string[]> {
  const client = createRedisClient(target, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 3000, retryStrategy: () => null, clusterRetryStrategy: () => null });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.ping();
  } catch (error) {
    client.disconnect();
    const hint = target.clusterNodes.length
      ? 'check REDIS_CLUSTER_NODES (and that the cluster is created: redis-cli --cluster create)'
      : `start it (for example: redis-server --daemonize yes --port ${new URL(target.url).port || 6379}) or set REDIS_URL`;
    throw new DependencyUnavailableError(`${describeRedis(target)} is not reachable (${(error as Error).message}); ${hint}`);
  }
  try {
    const [policy, appendonly, save] = await Promise.all([configValue(client, 'maxmemory-policy'), configValue(client, 'appendonly'), configValue(client, 'save')]);
    return redisWarnings({ maxmemoryPolicy: policy, appendonly: appendonly === null ? null : appendonly === 'yes', snapshots: save === null ? null : save.trim() !== '' });
  } finally {
    client.disconnect();
  }
}
