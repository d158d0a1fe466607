import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { CreatedAtColumn } from '../../database/columns';

export const COUPON_STATUSES = ['active', 'pending', 'rejected', 'revoked'] as const;
export type CouponStatus = (typeof COUPON_STATUSES)[number];

/** A code a shopper types at checkout; it attributes the sale to one affiliate on one offer. */
@Entity('coupons')
export class Coupon {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'uuid' })
  advertiserId: string;

  @Column({ type: 'uuid' })
  offerId: string;

  @Column({ type: 'uuid' })
  affiliateId: string;

  /** As typed by whoever created it; unique per advertiser case-insensitively (rejected ones aside). */
  @Column({ type: 'text' })
  code: string;

  @Column({ type: 'text' })
  status: CouponStatus;

  @Column({ type: 'uuid' })
  requestedBy: string;

  @Column({ type: 'uuid', nullable: true })
  decidedBy: string | null;

  @CreatedAtColumn()
  createdAt: Date;

  @Column({ type: 'timestamptz', nullable: true })
  decidedAt: Date | null;
}
