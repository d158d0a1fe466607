import { Column, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import { Role } from '../../common/auth/roles';
import { CreatedAtColumn, MoneyColumn } from '../../database/columns';

export { ROLES, type Role } from '../../common/auth/roles';

export const PRINCIPAL_STATUSES = ['pending', 'active', 'suspended', 'rejected'] as const;
export type PrincipalStatus = (typeof PRINCIPAL_STATUSES)[number];
export const BILLING_MODES = ['invoice', 'prepaid'] as const;
export type BillingMode = (typeof BILLING_MODES)[number];

/** Anyone who holds API keys: the operator's admins and finance staff, advertisers and affiliates. */
@Entity('principals')
export class Principal {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'text' })
  role: Role;

  @Column({ type: 'text' })
  name: string;

  @Column({ type: 'text' })
  email: string;

  @Column({ type: 'text', default: 'active' })
  status: PrincipalStatus;

  /** Affiliates only: minimum payout in minor units; null means the configured default. */
  @MoneyColumn({ nullable: true })
  payoutThreshold: number | null;

  /** Advertisers: billed by invoice, or paying from prepaid funds. */
  @Column({ type: 'text', default: 'invoice' })
  billingMode: BillingMode;

  /** Advertisers (prepaid): alert when the available funds of a currency fall to this many minor units. */
  @MoneyColumn({ nullable: true })
  lowBalanceAlert: number | null;

  @Column({ type: 'jsonb', default: {} })
  metadata: Record<string, unknown>;

  @CreatedAtColumn()
  createdAt: Date;

  @UpdateDateColumn({ type: 'timestamptz' })
  updatedAt: Date;
}
