import IORedis from 'ioredis';
import { Client, Pool } from 'pg';

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
