import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { CreatedAtColumn } from '../../database/columns';

/**
 * How an attempt ended: `delivered` (2xx), `failed` (retried), or not sent at all because a
 * newer status of the conversion exists (`superseded`), this event was delivered already
 * (`already_delivered`), or an earlier postback of the conversion is still being sent (`deferred`, retried).
 */
export const PARTNER_POSTBACK_OUTCOMES = ['delivered', 'failed', 'superseded', 'already_delivered', 'deferred'] as const;
export type PartnerPostbackOutcome = (typeof PARTNER_POSTBACK_OUTCOMES)[number];

/** One call of an affiliate's postback URL: what was called, what came back, how long it took. */
@Entity('postback_attempts')
export class PartnerPostbackAttempt {
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

  /** Null since the answer's body is no longer kept; older rows may still hold one. */
  @Column({ type: 'text', nullable: true })
  responseExcerpt: string | null;

  @Column({ type: 'text' })
  outcome: PartnerPostbackOutcome;

  @CreatedAtColumn()
  createdAt: Date;
}
