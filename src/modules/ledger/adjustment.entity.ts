import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { CreatedAtColumn, MoneyColumn } from '../../database/columns';

/** A manual correction of an affiliate's available balance by finance, posted to the ledger when written. */
@Entity('adjustments')
export class Adjustment {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'uuid' })
  affiliateId: string;

  @Column({ type: 'char', length: 3 })
  currency: string;

  /** Signed minor units: positive credits the affiliate's available balance, negative debits it. */
  @MoneyColumn()
  amount: number;

  /** The part of a debit that available could not cover and became a clawback. */
  @MoneyColumn({ default: 0 })
  clawback: number;

  @Column({ type: 'text' })
  reason: string;

  @Column({ type: 'text', nullable: true })
  idempotencyKey: string | null;

  /** A digest of what was asked, so a repeated key with another request is refused. */
  @Column({ type: 'text', nullable: true })
  requestHash: string | null;

  @Column({ type: 'uuid' })
  createdBy: string;

  @CreatedAtColumn()
  createdAt: Date;
}
