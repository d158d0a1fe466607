import IORedis from 'ioredis';
import { Client, Pool, PoolClient } from 'pg';

/** postgres://…/<name> on the same server as `base`. */
export function databaseUrl(base: string, name: string): string {
  const u = new URL(base);
  u.pathname = `/${name}`;
  return u.toString();
}

async function withAdmin<T>(serverUrl: string, fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: databaseUrl(serverUrl, 'postgres') });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

const ident = (name: string) => `"${name.replace(/"/g, '""')}"`;

export function createDatabase(serverUrl: string, name: string): Promise<void> {
  return withAdmin(serverUrl, async (c) => {
    await c.query(`CREATE DATABASE ${ident(name)}`);
  });
}

/** Drops the database, ending whatever sessions are still connected to it. */
export function dropDatabase(serverUrl: string, name: string): Promise<void> {
  return withAdmin(serverUrl, async (c) => {
    await c.query(`DROP DATABASE IF EXISTS ${ident(name)} WITH (FORCE)`);
  });
}

export function pool(url: string, max = 4): Pool {
  const p = new Pool({ connectionString: url, max, application_name: 'afflux-bench' });
  p.on('error', () => undefined); // a session ended by DROP … WITH (FORCE) at the very end
  return p;
}

/** Deletes every Redis key of the run (queues, uniqueness marks): they all start with `{prefix}`. */
export async function deleteRedisKeys(redisUrl: string, prefix: string): Promise<number> {
  const redis = new IORedis(redisUrl, { maxRetriesPerRequest: 1, lazyConnect: true });
  await redis.connect();
  let deleted = 0;
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `{${prefix}}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) deleted += await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  return deleted;
}

/** PostgreSQL's "deadlock detected" and "could not serialize": the transaction was rolled back whole and may simply run again. */
const RETRYABLE = new Set(['40P01', '40001']);

/**
 * Runs `fn` in a transaction on a client of its own; a deadlock victim (bulk writes racing the
 * service's own jobs on shared ledger accounts) is run again, up to `attempts` times.
 */
export async function transaction<T>(db: Pool, fn: (client: PoolClient) => Promise<T>, attempts = 4): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const client = await db.connect();
    try {
      await client.query('BEGIN');
      const result = await fn(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      if (attempt >= attempts || !RETRYABLE.has((error as { code?: string }).code ?? '')) throw error;
    } finally {
      client.release();
    }
    await new Promise((resolve) => setTimeout(resolve, 50 * attempt));
  }
}
