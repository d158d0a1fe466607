import type { ObjectLiteral, SelectQueryBuilder } from 'typeorm';
import type { AuthPrincipal } from '../../common/auth';

/**
 * Narrows a query on a tracking table (links, clicks, coupons: each carries affiliate_id and
 * advertiser_id) to what `actor` may see, then applies exact-match filters by column. Staff see
 * every row; the controllers decide which staff roles reach the query at all.
 */
export function scopedQuery<E extends ObjectLiteral>(
  qb: SelectQueryBuilder<E>,
  alias: string,
  actor: AuthPrincipal,
  filters: Record<string, string | undefined> = {},
): SelectQueryBuilder<E> {
  if (actor.role === 'affiliate') qb.andWhere(`${alias}.affiliate_id = :scopeId`, { scopeId: actor.id });
  if (actor.role === 'advertiser') qb.andWhere(`${alias}.advertiser_id = :scopeId`, { scopeId: actor.id });
  for (const [column, value] of Object.entries(filters)) {
    if (value !== undefined) qb.andWhere(`${alias}.${column} = :f_${column}`, { [`f_${column}`]: value });
  }
  return qb;
}
