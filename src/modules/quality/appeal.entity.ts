import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { CreatedAtColumn } from '../../database/columns';

export const APPEAL_STATUSES = ['open', 'approved', 'rejected'] as const;
export type AppealStatus = (typeof APPEAL_STATUSES)[number];

/** An affiliate's appeal of a held or rejected conversion, and how the advertiser (or an admin) decided it. At most one open per conversion. */
@Entity('conversion_appeals')
export class ConversionAppeal {
  @PrimaryGeneratedColumn('uuid') id: string;
  @Column({ type: 'uuid' }) conversionId: string;
  @Column({ type: 'uuid' }) affiliateId: string;
  @Column({ type: 'text' }) status: AppealStatus;
  @Column({ type: 'text' }) message: string;
  @Column({ type: 'text', nullable: true }) resolution: string | null;
  @Column({ type: 'uuid', nullable: true }) resolvedBy: string | null;
  @Column({ type: 'timestamptz', nullable: true }) resolvedAt: Date | null;
  @CreatedAtColumn() createdAt: Date;
}
