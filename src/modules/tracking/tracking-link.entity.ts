import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { CreatedAtColumn } from '../../database/columns';

export const CHANNELS = ['email', 'seo', 'sem', 'social', 'native', 'display', 'mobile', 'remarketing', 'marketplace', 'other'] as const;
export type Channel = (typeof CHANNELS)[number];

export const SUB_IDS = ['sub1', 'sub2', 'sub3', 'sub4', 'sub5'] as const;
export type SubId = (typeof SUB_IDS)[number];
export type SubValues = Record<SubId, string | null>;

/** Just the sub ids of a row that has them (and more). */
export function subValuesOf(source: SubValues): SubValues {
  return { sub1: source.sub1, sub2: source.sub2, sub3: source.sub3, sub4: source.sub4, sub5: source.sub5 };
}

/** An affiliate's link to one offer: `GET /c/:code` turns it into a click and a redirect. */
@Entity('tracking_links')
export class TrackingLink {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'text' })
  code: string;

  @Column({ type: 'uuid' })
  affiliateId: string;

  @Column({ type: 'uuid' })
  offerId: string;

  /** The offer's advertiser, copied here so advertiser-scoped lists need no join. */
  @Column({ type: 'uuid' })
  advertiserId: string;

  @Column({ type: 'text', nullable: true })
  label: string | null;

  @Column({ type: 'text', default: 'other' })
  channel: Channel;

  @Column({ type: 'text', nullable: true }) sub1: string | null;
  @Column({ type: 'text', nullable: true }) sub2: string | null;
  @Column({ type: 'text', nullable: true }) sub3: string | null;
  @Column({ type: 'text', nullable: true }) sub4: string | null;
  @Column({ type: 'text', nullable: true }) sub5: string | null;

  @CreatedAtColumn()
  createdAt: Date;

  @Column({ type: 'timestamptz', nullable: true })
  archivedAt: Date | null;
}
