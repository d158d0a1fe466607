import IORedis from 'ioredis';
import { DependencyUnavailableError } from '../database/ensure-database';

/** One clear line when Redis cannot be reached, instead of a retry loop in the logs. */
export async function checkRedis(url: string): Promise<void> {
  const u = new URL(url);
  const client = new IORedis(url, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 3000, retryStrategy: () => null });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.ping();
  } catch (error) {
    throw new DependencyUnavailableError(
      `Redis is not reachable at ${u.hostname}:${u.port || 6379} (${(error as Error).message}); start it (for example: redis-server --daemonize yes --port ${u.port || 6379}) or set REDIS_URL`,
    );
  } finally {
    client.disconnect();
  }
}
