import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { CreatedAtColumn, MoneyColumn } from '../../database/columns';

/** A signed amount on one account: debit positive, credit negative, never zero. Never changed. */
@Entity('journal_lines')
export class JournalLine {
  @PrimaryGeneratedColumn('increment', { type: 'bigint' })
  id: string;

  @Column({ type: 'uuid' })
  entryId: string;

  /** Copies of the entry's kind and effectiveAt, kept equal by a composite foreign key. */
  @Column({ type: 'text' })
  kind: string;

  @Column({ type: 'timestamptz' })
  effectiveAt: Date;

  @Column({ type: 'uuid' })
  accountId: string;

  @Column({ type: 'char', length: 3 })
  currency: string;

  @MoneyColumn()
  amount: number;

  @CreatedAtColumn()
  createdAt: Date;
}
