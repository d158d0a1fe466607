import IORedis, { Cluster, ClusterOptions, Redis, RedisOptions } from 'ioredis';
import type { RedisConfig } from '../config/configuration';

/** One Redis, or a Redis Cluster (REDIS_CLUSTER_NODES): every Redis use of the app goes through this. */
export type RedisClient = Redis | Cluster;

type Target = Pick<RedisConfig, 'url' | 'clusterNodes'>;

/** Options that apply to the cluster client as a whole rather than to each node's connection. */
type ClusterLevel = Pick<RedisOptions, 'enableOfflineQueue' | 'lazyConnect'> & Pick<ClusterOptions, 'clusterRetryStrategy'>;

/** Credentials and TLS of REDIS_URL, which the cluster's node connections use too. */
function credentials(url: string): RedisOptions {
  const u = new URL(url);
  return {
    username: u.username || undefined,
    password: u.password ? decodeURIComponent(u.password) : undefined,
    tls: u.protocol === 'rediss:' ? {} : undefined,
  };
}

/**
 * A client of REDIS_URL, or of the cluster when REDIS_CLUSTER_NODES is set. On a cluster, keys
 * that a command or script uses together must share a hash tag (see README.md, "Scaling out"):
 * everything the app writes is under `{QUEUE_PREFIX}`, each BullMQ queue under its own tag.
 */
export function createRedisClient(target: Target, options: RedisOptions & ClusterLevel = {}): RedisClient {
  if (!target.clusterNodes.length) return new IORedis(target.url, options);
  const { enableOfflineQueue, lazyConnect, clusterRetryStrategy, ...perNode } = options;
  return new Cluster(target.clusterNodes, {
    enableOfflineQueue,
    lazyConnect,
    clusterRetryStrategy,
    // A failover takes a few seconds: commands wait for the new primary instead of failing at once.
    retryDelayOnFailover: 200,
    retryDelayOnClusterDown: 300,
    retryDelayOnTryAgain: 200,
    slotsRefreshTimeout: 2000,
    redisOptions: { ...credentials(target.url), ...perNode },
  });
}

/** Where the client talks to, for messages: `127.0.0.1:6379` or `cluster 10.0.0.1:7000,…`. */
export function describeRedis(target: Target): string {
  if (target.clusterNodes.length) return `the Redis Cluster at ${target.clusterNodes.map((n) => `${n.host}:${n.port}`).join(',')}`;
  const u = new URL(target.url);
  return `Redis at ${u.hostname}:${u.port || 6379}`;
}

/**
 * The BullMQ key prefix of one queue. On one Redis every key shares `{QUEUE_PREFIX}` (the names
 * earlier versions wrote, so an upgrade finds its queued jobs); on a cluster each queue has a
 * hash tag of its own, `{QUEUE_PREFIX:queue}`: a queue's keys (which its Lua scripts use
 * together) share one slot, and the queues spread over the primaries.
 */
export function queuePrefix(target: Pick<RedisConfig, 'clusterNodes' | 'queuePrefix'>, queue: string): string {
  return target.clusterNodes.length ? `{${target.queuePrefix}:${queue}}` : `{${target.queuePrefix}}`;
}
