import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { CreatedAtColumn } from '../../database/columns';

/**
 * An advertiser's postback secret. Kept in clear because HMAC signatures need the secret
 * itself; a rotated token keeps working until `expiresAt` (24 h) so integrations can switch.
 */
@Entity('postback_tokens')
export class PostbackToken {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'uuid' })
  advertiserId: string;

  @Column({ type: 'text' })
  token: string;

  @CreatedAtColumn()
  createdAt: Date;

  @Column({ type: 'timestamptz', nullable: true })
  expiresAt: Date | null;
}
