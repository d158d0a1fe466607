import { Column, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';
import { CreatedAtColumn } from '../../database/columns';

export const ACCESS_STATUSES = ['pending', 'approved', 'rejected'] as const;
export type AccessStatus = (typeof ACCESS_STATUSES)[number];

/** An affiliate's application to an offer, or an admin's grant to a private one. */
@Entity('offer_access')
export class OfferAccess {
  @PrimaryColumn({ type: 'uuid' })
  offerId: string;

  @PrimaryColumn({ type: 'uuid' })
  affiliateId: string;

  @Column({ type: 'text' })
  status: AccessStatus;

  @Column({ type: 'text', nullable: true })
  note: string | null;

  @Column({ type: 'uuid', nullable: true })
  decidedBy: string | null;

  @Column({ type: 'timestamptz', nullable: true })
  decidedAt: Date | null;

  @CreatedAtColumn()
  createdAt: Date;

  @UpdateDateColumn({ type: 'timestamptz' })
  updatedAt: Date;
}
