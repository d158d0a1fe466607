import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AuthPrincipal } from '../../common/auth';
import { invalidField } from '../../common/errors';
import { DEFAULT_PAGE_SIZE, Page } from '../../common/pagination';
import { ClickBuffer } from './click-buffer';
import { CLICK_ID_LENGTH } from './click-id';
import { Click } from './click.entity';
import { ListClicksQueryDto } from './dto/clicks.dto';
import { scopedQuery } from './scope';
import { ClickListRow } from './tracking.views';

/** Admins read the full IP; everyone else its network (/24 for IPv4, /48 for IPv6). */
const FULL_IP = 'host(c.ip)';
const NETWORK_IP = 'host(network(set_masklen(c.ip, CASE WHEN family(c.ip) = 4 THEN 24 ELSE 48 END)))';
const CURSOR = new RegExp(`^(\\d{1,17})\\.([A-Za-z0-9_-]{1,${CLICK_ID_LENGTH}})$`);

/** Keyset position (clicked_at in microseconds since the epoch, exact, and the id) as an opaque string. */
function decodeCursor(cursor: string): { us: string; id: string } {
  const match = CURSOR.exec(Buffer.from(cursor, 'base64url').toString('latin1'));
  if (!match) throw invalidField('cursor', 'is not a cursor this API issued', 'invalid_cursor');
  return { us: match[1], id: match[2] };
}

const encodeCursor = (us: string, id: string) => Buffer.from(`${us}.${id}`, 'latin1').toString('base64url');

@Injectable()
export class ClicksService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly buffer: ClickBuffer,
  ) {}

  /**
   * The click with this id and time (both from a verified click id), stored or still buffered
   * in this process; null if there is none. A buffered click's uniqueness is not decided yet
   * and reads as true.
   */
  async find(clickId: string, clickedAt: Date): Promise<Click | null> {
    const stored = await this.dataSource.getRepository(Click).findOneBy({ clickedAt, id: clickId });
    if (stored) return stored;
    const buffered = this.buffer.findBuffered(clickId);
    if (!buffered || buffered.clickedAt.getTime() !== clickedAt.getTime()) return null;
    const { isUnique, ...fields } = buffered;
    return Object.assign(new Click(), fields, { isUnique: isUnique ?? true });
  }

  /** Newest first, keyset-paginated on (clicked_at, id), scoped to what `actor` may see. */
  async list(actor: AuthPrincipal, query: ListClicksQueryDto): Promise<Page<ClickListRow>> {
    const limit = query.limit ?? DEFAULT_PAGE_SIZE;
    const qb = this.dataSource
      .createQueryBuilder()
      .select(['c.id AS id', 'c.clicked_at AS clicked_at', 'c.link_id AS link_id', 'c.offer_id AS offer_id', 'c.affiliate_id AS affiliate_id'])
      .addSelect(['c.channel AS channel', 'c.sub1 AS sub1', 'c.sub2 AS sub2', 'c.sub3 AS sub3', 'c.sub4 AS sub4', 'c.sub5 AS sub5'])
      .addSelect(['c.user_agent AS user_agent', 'c.referrer AS referrer', 'c.is_unique AS is_unique', 'c.status AS status'])
      .addSelect(['c.risk_score AS risk_score', 'c.risk_reasons AS risk_reasons'])
      .addSelect(actor.role === 'admin' ? FULL_IP : NETWORK_IP, 'ip')
      .addSelect(`(extract(epoch FROM c.clicked_at) * 1000000)::bigint::text`, 'cursor_us')
      .from('clicks', 'c');
    scopedQuery(qb, 'c', actor, {
      offer_id: query.offerId,
      link_id: query.linkId,
      affiliate_id: query.affiliateId,
      sub1: query.sub1,
      sub2: query.sub2,
      sub3: query.sub3,
      sub4: query.sub4,
      sub5: query.sub5,
    });
    if (query.from) qb.andWhere('c.clicked_at >= :from', { from: query.from });
    if (query.to) qb.andWhere('c.clicked_at < :to', { to: query.to });
    if (query.cursor) {
      const { us, id } = decodeCursor(query.cursor);
      qb.andWhere(`(c.clicked_at, c.id) < (to_timestamp(0) + :us::bigint * interval '1 microsecond', :cursorId)`, { us, cursorId: id });
    }
    const rows = await qb
      .orderBy('c.clicked_at', 'DESC')
      .addOrderBy('c.id', 'DESC')
      .limit(limit + 1)
      .getRawMany<ClickListRow & { cursor_us: string }>();
    const data = rows.slice(0, limit);
    const last = data[data.length - 1];
    return { data, nextCursor: rows.length > limit && last ? encodeCursor(last.cursor_us, last.id) : null };
  }
}
