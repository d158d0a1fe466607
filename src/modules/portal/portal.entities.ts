import { Column, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import { CreatedAtColumn } from '../../database/columns';

export type PortalUserStatus = 'active' | 'disabled';

/** A person who signs in to the portal on behalf of a principal (an advertiser may have several). */
@Entity('portal_users')
export class PortalUser {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'uuid' })
  principalId: string;

  @Column({ type: 'text' })
  email: string;

  @Column({ type: 'text' })
  name: string;

  @Column({ type: 'text', select: false })
  passwordHash: string;

  /** IANA zone in which the portal shows times and reads date ranges. */
  @Column({ type: 'text', default: 'UTC' })
  timeZone: string;

  @Column({ type: 'text', default: 'active' })
  status: PortalUserStatus;

  @Column({ type: 'timestamptz', nullable: true })
  lastLoginAt: Date | null;

  /** TOTP two-factor sign-in (TwoFactorService): the base32 secret, null while it is off. */
  @Column({ type: 'text', nullable: true, select: false })
  totpSecret: string | null;

  @Column({ type: 'timestamptz', nullable: true })
  totpEnabledAt: Date | null;

  /** The last 30-second step whose code was accepted: a code is good once. */
  @Column({ type: 'bigint', nullable: true, select: false })
  totpLastStep: string | null;

  @CreatedAtColumn()
  createdAt: Date;

  @UpdateDateColumn({ type: 'timestamptz' })
  updatedAt: Date;
}

/** A signed-in browser; only the SHA-256 of the cookie's token is stored. */
@Entity('portal_sessions')
export class PortalSession {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'uuid' })
  userId: string;

  @Column({ type: 'bytea', select: false })
  tokenHash: Buffer;

  @Column({ type: 'text' })
  csrfToken: string;

  @Column({ type: 'inet', nullable: true })
  ip: string | null;

  @Column({ type: 'text', nullable: true })
  userAgent: string | null;

  @CreatedAtColumn()
  createdAt: Date;

  @Column({ type: 'timestamptz' })
  lastSeenAt: Date;

  @Column({ type: 'timestamptz' })
  expiresAt: Date;
}

/** A one-time link an admin hands to a person to join a principal; stored hashed. */
@Entity('portal_invites')
export class PortalInvite {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'uuid' })
  principalId: string;

  @Column({ type: 'text' })
  email: string;

  @Column({ type: 'bytea', select: false })
  tokenHash: Buffer;

  @Column({ type: 'uuid', nullable: true })
  invitedBy: string | null;

  @CreatedAtColumn()
  createdAt: Date;

  @Column({ type: 'timestamptz' })
  expiresAt: Date;

  @Column({ type: 'timestamptz', nullable: true })
  acceptedAt: Date | null;

  @Column({ type: 'uuid', nullable: true })
  acceptedUserId: string | null;

  /** Taken back by an admin before it was used: the link answers 410. */
  @Column({ type: 'timestamptz', nullable: true })
  revokedAt: Date | null;
}

/** A "forgot your password" link mailed to a person: stored hashed, used once, good for an hour. */
@Entity('portal_password_resets')
export class PortalPasswordReset {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'uuid' })
  userId: string;

  @Column({ type: 'bytea', select: false })
  tokenHash: Buffer;

  @CreatedAtColumn()
  createdAt: Date;

  @Column({ type: 'timestamptz' })
  expiresAt: Date;

  @Column({ type: 'timestamptz', nullable: true })
  usedAt: Date | null;
}

/** The portal feature's entities, registered with the data source. */
export const PORTAL_ENTITIES: Function[] = [PortalUser, PortalSession, PortalInvite, PortalPasswordReset];
