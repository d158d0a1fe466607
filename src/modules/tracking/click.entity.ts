import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { RiskReason } from '../../common/risk/risk';
import type { Channel } from './tracking-link.entity';

/**
 * Why a click did not reach the landing page. `ok` clicks went to the landing URL; the others
 * went to the offer's fallback URL, or got a 410 when it has none. Reports count them apart.
 */
export const CLICK_STATUSES = ['ok', 'offer_paused', 'offer_archived', 'affiliate_suspended', 'link_archived'] as const;
export type ClickStatus = (typeof CLICK_STATUSES)[number];

/**
 * One click. Written in batches by ClickBuffer into a table partitioned by day on clicked_at;
 * the primary key leads with clicked_at because a partitioned table's keys must hold it.
 */
@Entity('clicks')
export class Click {
  @PrimaryColumn({ type: 'timestamptz' })
  clickedAt: Date;

  /** The signed click id (see ClickIdService). */
  @PrimaryColumn({ type: 'text' })
  id: string;

  @Column({ type: 'uuid' }) linkId: string;
  @Column({ type: 'uuid' }) offerId: string;
  @Column({ type: 'uuid' }) affiliateId: string;
  @Column({ type: 'uuid' }) advertiserId: string;
  @Column({ type: 'text' }) channel: Channel;

  @Column({ type: 'text', nullable: true }) sub1: string | null;
  @Column({ type: 'text', nullable: true }) sub2: string | null;
  @Column({ type: 'text', nullable: true }) sub3: string | null;
  @Column({ type: 'text', nullable: true }) sub4: string | null;
  @Column({ type: 'text', nullable: true }) sub5: string | null;

  @Column({ type: 'inet', nullable: true }) ip: string | null;
  @Column({ type: 'text', nullable: true }) userAgent: string | null;
  @Column({ type: 'text', nullable: true }) referrer: string | null;

  /** First click of this IP and user agent on this link within 24 h. */
  @Column({ type: 'boolean' }) isUnique: boolean;

  @Column({ type: 'text', default: 'ok' }) status: ClickStatus;

  /** 0–100, decided with the batch and raised by the quality job (floods over many batches). */
  @Column({ type: 'smallint', nullable: true }) riskScore: number | null;
  @Column({ type: 'jsonb', nullable: true }) riskReasons: RiskReason[] | null;
}
