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

  /** The invoices this run could not issue, and why; their results were released to the next run. */
  @Column({ type: 'jsonb', default: [] })
  failures: InvoiceFailure[];

  @CreatedAtColumn()
  createdAt: Date;

  @Column({ type: 'timestamptz', nullable: true })
  finishedAt: Date | null;
}

export interface InvoiceFailure {
  invoiceId: string;
  advertiserId: string;
  currency: string;
  error: string;
}

export interface InvoiceLine {
  offerId: string;
  offerName: string;
  goal: string;
  conversions: number;
  amount: number;
}

/**
 * draft (planned, its results tagged) → open (finalized on Stripe) → paid; open → void (its
 * results are billable again) or uncollectible (written off, still payable); draft → failed
 * (could not be issued; its results released).
 */
export const INVOICE_STATUSES = ['draft', 'open', 'paid', 'void', 'uncollectible', 'failed'] as const;
export type InvoiceStatus = (typeof INVOICE_STATUSES)[number];

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

  /** What Stripe collected (the paid event's `amount_paid`); any rest stays receivable. */
  @MoneyColumn({ default: 0 })
  amountPaid: number;

  /** What an uncollectible invoice wrote off the receivable. */
  @MoneyColumn({ default: 0 })
  writtenOff: number;

  /** Why it failed to be issued. */
  @Column({ type: 'text', nullable: true })
  error: string | null;

  @Column({ type: 'timestamptz', nullable: true })
  voidedAt: Date | null;
}

export type CreditedInvoiceStatus = 'open' | 'paid' | 'uncollectible';

/** A reversed result credited on the invoice that billed it: one Stripe credit note each. */
@Entity('invoice_credits')
export class InvoiceCredit {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'uuid' })
  invoiceId: string;

  /** The reversed result credited, or (`bonusAwardId`) the clawed-back bonus: one of the two. */
  @Column({ type: 'uuid', nullable: true })
  conversionId: string | null;

  @Column({ type: 'uuid', nullable: true })
  bonusAwardId: string | null;

  @MoneyColumn()
  amount: number;

  @Column({ type: 'char', length: 3 })
  currency: string;

  /** The Stripe invoice's status when credited: open (less to pay), paid (refunded), uncollectible. */
  @Column({ type: 'text' })
  invoiceStatus: CreditedInvoiceStatus;

  @Column({ type: 'text', nullable: true })
  stripeCreditNoteId: string | null;

  @CreatedAtColumn()
  createdAt: Date;
}

export const BILLING_ENTITIES = [InvoiceRun, Invoice, InvoiceCredit];
