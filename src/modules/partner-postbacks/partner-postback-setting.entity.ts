import { Column, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import { CreatedAtColumn } from '../../database/columns';

/** Where an affiliate wants to hear about its conversions: in general, or for one offer. */
@Entity('postback_settings')
export class PartnerPostbackSetting {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'uuid' })
  affiliateId: string;

  @Column({ type: 'uuid', nullable: true })
  offerId: string | null;

  @Column({ type: 'text' })
  urlTemplate: string;

  @CreatedAtColumn()
  createdAt: Date;

  @UpdateDateColumn({ type: 'timestamptz' })
  updatedAt: Date;
}
