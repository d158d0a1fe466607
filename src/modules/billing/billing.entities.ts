import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { CreatedAtColumn, MoneyColumn } from '../../database/columns';

export type InvoiceRunStatus = 'queued' | 'running' | 'completed' | 'failed';

/** Billing of a period: one invoice per advertiser and currency for its approved results. */
@Entity('invoice_runs')
export class InvoiceRun {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'timestamptz' })
  periodFrom: Date;

  @Column({ type: 'timestamptz' })
  periodTo: Date;

  @Column({ type: 'char', length: 3, nullable: true })
  currency: string | null;

  @Column({ type: 'text' })
  status: InvoiceRunStatus;

  @Column({ type: 'uuid', nullable: true })
  requestedBy: string | null;

  @Column({ type: 'int', default: 0 })
  totalCount: number;

  @Column({ type: 'int', default: 0 })
  doneCount: number;

  @MoneyColumn({ default: 0 })
  totalAmount: number;

  @Column({ type: 'timestamptz', nullable: true })
  plannedAt: Date | null;

  @Column({ type: 'text', nullable: true })
  error: string | null;

  @CreatedAtColumn()
  createdAt: Date;

  @Column({ type: 'timestamptz', nullable: true })
  finishedAt: Date | null;
}

export interface InvoiceLine {
  offerId: string;
  offerName: string;
  goal: string;
  conversions: number;
  amount: number;
}

export type InvoiceStatus = 'draft' | 'open' | 'paid' | 'void';

@Entity('invoices')
export class Invoice {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'uuid' })
  runId: string;

  @Column({ type: 'uuid' })
  advertiserId: string;

  @Column({ type: 'char', length: 3 })
  currency: string;

  @Column({ type: 'timestamptz' })
  periodFrom: Date;

  @Column({ type: 'timestamptz' })
  periodTo: Date;

  /** What the advertiser owes, in minor units: the sum of its conversions' revenue. */
  @MoneyColumn()
  amount: number;

  @Column({ type: 'int' })
  conversions: number;

  @Column({ type: 'text' })
  status: InvoiceStatus;

  @Column({ type: 'text', nullable: true })
  stripeCustomerId: string | null;

  @Column({ type: 'text', nullable: true })
  stripeInvoiceId: string | null;

  @Column({ type: 'text', nullable: true })
  hostedInvoiceUrl: string | null;

  @Column({ type: 'jsonb', default: [] })
  lines: InvoiceLine[];

  @CreatedAtColumn()
  createdAt: Date;

  @Column({ type: 'timestamptz', nullable: true })
  finalizedAt: Date | null;

  @Column({ type: 'timestamptz', nullable: true })
  paidAt: Date | null;
}
