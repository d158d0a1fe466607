import type { DataSource, EntityManager } from 'typeorm';

/**
 * Runs an UPDATE … RETURNING and gives back the rows. TypeORM's PostgreSQL driver answers UPDATE
 * and DELETE as `[rows, affectedCount]` but INSERT as `rows`; reading the wrong shape silently
 * turns "no row matched" into a truthy array.
 */
export async function updateReturning<T>(db: EntityManager | DataSource, sql: string, params: unknown[]): Promise<T[]> {
  const result = await db.query(sql, params);
  return (Array.isArray(result) && Array.isArray(result[0]) ? result[0] : result) as T[];
}
