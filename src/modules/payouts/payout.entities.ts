import { Column, Entity, PrimaryColumn, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import { CreatedAtColumn, MoneyColumn } from '../../database/columns';

/**
 * An affiliate's account on a payout rail (a Stripe Connect Express account on the Stripe rail);
 * `payoutsEnabled` follows the rail's account events.
 */
@Entity('payout_accounts')
export class PayoutDestination {
  @PrimaryColumn({ type: 'uuid' })
  affiliateId: string;

  /** The payout rail's name (`PayoutRail.name`). */
  @Column({ type: 'text', default: 'stripe' })
  rail: string;

  /** The account's id on its rail. */
  @Column({ type: 'text' })
  externalAccountId: string;

  @Column({ type: 'boolean', default: false })
  payoutsEnabled: boolean;

  @Column({ type: 'boolean', default: false })
  detailsSubmitted: boolean;

  @Column({ type: 'timestamptz', nullable: true })
  lastEventAt: Date | null;

  @CreatedAtColumn()
  createdAt: Date;

  @UpdateDateColumn({ type: 'timestamptz' })
  updatedAt: Date;
}

export type PayoutRunStatus = 'queued' | 'running' | 'completed' | 'failed';

export interface PayoutPreviewItem {
  affiliateId: string;
  amount: number;
  clawbackNetted: number;
}

@Entity('payout_runs')
export class PayoutRun {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'char', length: 3 })
  currency: string;

  @Column({ type: 'boolean', default: false })
  dryRun: boolean;

  @Column({ type: 'text' })
  status: PayoutRunStatus;

  @Column({ type: 'uuid', nullable: true })
  requestedBy: string | null;

  @Column({ type: 'int', default: 0 })
  totalCount: number;

  @Column({ type: 'int', default: 0 })
  doneCount: number;

  @Column({ type: 'int', default: 0 })
  failedCount: number;

  @MoneyColumn({ default: 0 })
  totalAmount: number;

  @MoneyColumn({ default: 0 })
  doneAmount: number;

  @Column({ type: 'timestamptz', nullable: true })
  plannedAt: Date | null;

  @Column({ type: 'jsonb', nullable: true })
  preview: PayoutPreviewItem[] | null;

  @Column({ type: 'text', nullable: true })
  error: string | null;

  @CreatedAtColumn()
  createdAt: Date;

  @Column({ type: 'timestamptz', nullable: true })
  startedAt: Date | null;

  @Column({ type: 'timestamptz', nullable: true })
  finishedAt: Date | null;
}

export type PayoutStatus = 'pending' | 'transferring' | 'paid' | 'failed';

/** One affiliate's share of a run: the ledger entry is written when planned, the transfer follows. */
@Entity('payouts')
export class Payout {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'uuid' })
  runId: string;

  @Column({ type: 'uuid' })
  affiliateId: string;

  @Column({ type: 'char', length: 3 })
  currency: string;

  /** What the rail transfers, in minor units. */
  @MoneyColumn()
  amount: number;

  /** Clawback settled out of the available balance instead of cash. */
  @MoneyColumn({ default: 0 })
  clawbackNetted: number;

  /** What the rail has reversed of the transfer so far (partial reversals), back in the balance. */
  @MoneyColumn({ default: 0 })
  reversedAmount: number;

  @Column({ type: 'text' })
  status: PayoutStatus;

  /** The payout rail that carries it: its account's rail when planned. */
  @Column({ type: 'text', default: 'stripe' })
  rail: string;

  /** The destination account on the rail. */
  @Column({ type: 'text' })
  externalAccountId: string;

  /** The rail's transfer id, once the transfer is known. */
  @Column({ type: 'text', nullable: true })
  externalId: string | null;

  @Column({ type: 'int', default: 0 })
  attempts: number;

  @Column({ type: 'text', nullable: true })
  failureCode: string | null;

  @Column({ type: 'text', nullable: true })
  failureMessage: string | null;

  @CreatedAtColumn()
  createdAt: Date;

  @Column({ type: 'timestamptz', nullable: true })
  paidAt: Date | null;

  @Column({ type: 'timestamptz', nullable: true })
  failedAt: Date | null;
}
