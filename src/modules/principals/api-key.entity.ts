import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { CreatedAtColumn } from '../../database/columns';

/** An API key, stored as a SHA-256 digest: keys are 256 random bits, so a slow hash adds nothing. */
@Entity('api_keys')
export class ApiKey {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'uuid' })
  principalId: string;

  /** The first characters of the key, for people to tell keys apart. */
  @Column({ type: 'text' })
  prefix: string;

  @Column({ type: 'bytea', select: false })
  keyHash: Buffer;

  @Column({ type: 'text', nullable: true })
  label: string | null;

  @CreatedAtColumn()
  createdAt: Date;

  @Column({ type: 'timestamptz', nullable: true })
  revokedAt: Date | null;

  @Column({ type: 'timestamptz', nullable: true })
  lastUsedAt: Date | null;
}
