import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength } from 'class-validator';
import { ObjectLiteral, SelectQueryBuilder } from 'typeorm';
import { invalidField } from '../errors';
import { QueryInt, UUID_PATTERN } from '../validation/validators';

const TIMESTAMP = /^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d{1,6})?([+-]\d{2}(:?\d{2})?|Z)$/;

export const MAX_PAGE_SIZE = 500;
export const DEFAULT_PAGE_SIZE = 50;

export class PageQueryDto {
  @ApiPropertyOptional({ description: 'opaque cursor from a previous page’s nextCursor' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  cursor?: string;

  @ApiPropertyOptional({ minimum: 1, maximum: MAX_PAGE_SIZE, default: DEFAULT_PAGE_SIZE })
  @QueryInt(1, MAX_PAGE_SIZE)
  limit?: number;
}

export interface Page<T> {
  data: T[];
  nextCursor: string | null;
}

interface CursorPosition {
  t: string;
  id: string;
}

function decodeCursor(cursor: string): CursorPosition {
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as CursorPosition;
    if (typeof parsed.t === 'string' && TIMESTAMP.test(parsed.t) && typeof parsed.id === 'string' && UUID_PATTERN.test(parsed.id)) return parsed;
  } catch {
    /* fall through */
  }
  throw invalidField('cursor', 'is not a cursor this API issued', 'invalid_cursor');
}

function encodeCursor(createdAt: string, id: string): string {
  return Buffer.from(JSON.stringify({ t: createdAt, id })).toString('base64url');
}

/**
 * Keyset pagination, newest first, on (created_at, id): stable under concurrent inserts and
 * as fast on page 1 000 as on page 1. `alias` is the query builder's main alias.
 */
export async function paginate<E extends ObjectLiteral & { id: string; createdAt: Date }>(qb: SelectQueryBuilder<E>, alias: string, query: PageQueryDto): Promise<Page<E>> {
  const limit = query.limit ?? DEFAULT_PAGE_SIZE;
  if (query.cursor) {
    const { t, id } = decodeCursor(query.cursor);
    qb.andWhere(`(${alias}.created_at, ${alias}.id) < (:cursorT::timestamptz, :cursorId::uuid)`, { cursorT: t, cursorId: id });
  }
  // The cursor carries PostgreSQL's own text of the timestamp: a JS Date keeps milliseconds only,
  // and rows a few microseconds apart would be skipped between pages.
  const { entities, raw } = await qb
    .addSelect(`${alias}.created_at::text`, 'afx_cursor_t')
    .orderBy(`${alias}.created_at`, 'DESC')
    .addOrderBy(`${alias}.id`, 'DESC')
    .limit(limit + 1)
    .getRawAndEntities<{ afx_cursor_t: string }>();
  const data = entities.slice(0, limit);
  const last = data[data.length - 1];
  return { data, nextCursor: entities.length > limit && last ? encodeCursor(raw[limit - 1].afx_cursor_t, last.id) : null };
}

export function mapPage<E, T>(page: Page<E>, map: (row: E) => T): Page<T> {
  return { data: page.data.map(map), nextCursor: page.nextCursor };
}
