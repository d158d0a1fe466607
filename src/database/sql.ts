import { DataSource, EntityManager, QueryFailedError } from 'typeorm';

/**
 * Runs an UPDATE … RETURNING and gives back the rows. TypeORM's PostgreSQL driver answers UPDATE
 * and DELETE as `[rows, affectedCount]` but INSERT as `rows`; reading the wrong shape silently
 * turns "no row matched" into a truthy array.
 */
export async function updateReturning<T>(db: EntityManager | DataSource, sql: string, params: unknown[]): Promise<T[]> {
  const result = await db.query(sql, params);
  return (Array.isArray(result) && Array.isArray(result[0]) ? result[0] : result) as T[];
}

/**
 * Runs `text` as the named prepared statement `name` on `manager`'s connection (its transaction's,
 * or one from the pool): PostgreSQL parses and plans it once per connection instead of on every
 * call, which is most of the server's work for a short write behind a long text. `text` must never
 * change for a `name`. Errors come back as TypeORM's QueryFailedError, like `manager.query`'s.
 */
export async function preparedQuery<T>(manager: EntityManager, name: string, text: string, params: unknown[]): Promise<T[]> {
  const runner = manager.queryRunner ?? manager.connection.createQueryRunner();
  try {
    const client = (await runner.connect()) as { query(config: { name: string; text: string; values: unknown[] }): Promise<{ rows: T[] }> };
    try {
      return (await client.query({ name, text, values: params })).rows;
    } catch (error) {
      throw new QueryFailedError(text, params, error as Error);
    }
  } finally {
    if (!manager.queryRunner) await runner.release();
  }
}
