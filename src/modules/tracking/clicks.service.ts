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
import { trackingRepository } from './tracking.repository';
import { ClickListRow } from './tracking.views';

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
    const stored = await trackingRepository.findClick(this.dataSource.manager, clickId, clickedAt);
    if (stored) return stored;
    const buffered = this.buffer.findBuffered(clickId);
    if (!buffered || buffered.clickedAt.getTime() !== clickedAt.getTime()) return null;
    const { isUnique, ...fields } = buffered;
    return Object.assign(new Click(), fields, { isUnique: isUnique ?? true });
  }

  /** Newest first, keyset-paginated on (clicked_at, id), scoped to what `actor` may see. */
  async list(actor: AuthPrincipal, query: ListClicksQueryDto): Promise<Page<ClickListRow>> {
    const limit = query.limit ?? DEFAULT_PAGE_SIZE;
    const rows = await trackingRepository.listClicks(this.dataSource.manager, actor, {
      filters: {
        offer_id: query.offerId,
        link_id: query.linkId,
        affiliate_id: query.affiliateId,
        sub1: query.sub1,
        sub2: query.sub2,
        sub3: query.sub3,
        sub4: query.sub4,
        sub5: query.sub5,
      },
      from: query.from,
      to: query.to,
      before: query.cursor ? decodeCursor(query.cursor) : undefined,
      limit,
      fullIp: actor.role === 'admin',
    });
    const data = rows.slice(0, limit);
    const last = data[data.length - 1];
    return { data, nextCursor: rows.length > limit && last ? encodeCursor(last.cursor_us, last.id) : null };
  }
}
