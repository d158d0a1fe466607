import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { CreatedAtColumn } from '../../database/columns';

/** One call of an affiliate's postback URL: what was called, what came back, how long it took. */
@Entity('postback_attempts')
export class PostbackAttempt {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'uuid' })
  affiliateId: string;

  @Column({ type: 'uuid', nullable: true })
  conversionId: string | null;

  @Column({ type: 'bigint', nullable: true })
  eventId: string | null;

  @Column({ type: 'boolean', default: false })
  isTest: boolean;

  @Column({ type: 'int' })
  attempt: number;

  @Column({ type: 'text' })
  url: string;

  @Column({ type: 'int', nullable: true })
  statusCode: number | null;

  @Column({ type: 'int' })
  latencyMs: number;

  @Column({ type: 'text', nullable: true })
  error: string | null;

  @Column({ type: 'text', nullable: true })
  responseExcerpt: string | null;

  @CreatedAtColumn()
  createdAt: Date;
}
