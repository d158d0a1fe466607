import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { CreatedAtColumn } from '../../database/columns';
import type { ConversionStatus } from './conversion.entity';

export type EventActorType = 'principal' | 'postback' | 'system';

/** Every status change of a conversion: who, when, why. Append-only. */
@Entity('conversion_events')
export class ConversionEvent {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id: string;

  @Column({ type: 'uuid' })
  conversionId: string;

  @Column({ type: 'text', nullable: true })
  fromStatus: ConversionStatus | null;

  @Column({ type: 'text' })
  toStatus: ConversionStatus;

  @Column({ type: 'text' })
  actorType: EventActorType;

  @Column({ type: 'uuid', nullable: true })
  actorId: string | null;

  @Column({ type: 'text', nullable: true })
  reason: string | null;

  @CreatedAtColumn()
  createdAt: Date;
}
