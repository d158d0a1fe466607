import { Column, Entity, PrimaryColumn, PrimaryGeneratedColumn } from 'typeorm';
import { CreatedAtColumn, MoneyColumn } from '../../database/columns';

/** A prepaid advertiser's top-up, as finance recorded it; its money is in the ledger (kind `funding`). */
@Entity('advertiser_fundings')
export class AdvertiserFunding {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'uuid' })
  advertiserId: string;

  @MoneyColumn()
  amount: number;

  @Column({ type: 'char', length: 3 })
  currency: string;

  @Column({ type: 'text' })
  reference: string;

  @Column({ type: 'uuid', nullable: true })
  createdBy: string | null;

  @CreatedAtColumn()
  createdAt: Date;
}

/** A low-balance alert sent for (advertiser, currency), kept until the funds recover, so it goes out once per fall. */
@Entity('funding_alerts')
export class FundingAlert {
  @PrimaryColumn({ type: 'uuid' })
  advertiserId: string;

  @PrimaryColumn({ type: 'char', length: 3 })
  currency: string;

  @MoneyColumn()
  available: number;

  @CreatedAtColumn()
  createdAt: Date;
}
