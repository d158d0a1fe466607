import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { CreatedAtColumn } from '../../database/columns';

export const CAUSE_TYPES = ['conversion', 'payout', 'invoice', 'adjustment', 'bonus_award', 'funding'] as const;
export type CauseType = (typeof CAUSE_TYPES)[number];

/** One business event in the ledger; at most one per (causeType, causeId, kind). Never changed. */
@Entity('journal_entries')
export class JournalEntry {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'text' })
  kind: string;

  @Column({ type: 'text' })
  causeType: CauseType;

  @Column({ type: 'text' })
  causeId: string;

  @Column({ type: 'text', nullable: true })
  memo: string | null;

  @Column({ type: 'uuid', nullable: true })
  createdBy: string | null;

  @CreatedAtColumn()
  createdAt: Date;

  /** The accounting date: when the money moved, which a backdated correction sets apart from createdAt. */
  @Column({ type: 'timestamptz' })
  effectiveAt: Date;
}
