import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { Config } from '../../config/configuration';
import { conversionsRepository } from '../conversions/conversions.repository';

/** What a postback job should do with its event now. */
export type DeliveryTurn = 'send' | 'superseded' | 'already_delivered' | 'deferred';

/**
 * The record of each event's postback (`postback_deliveries`): claimed before the call, settled
 * after it. Claims of one conversion take turns under an advisory lock, so what a claim reads
 * (newer events, earlier postbacks in flight, its own state) holds until it commits.
 *
 * Once recorded as delivered an event is never sent again. The gap between the affiliate's
 * answer and the record (a crash there) is closed the other way: a claim older than its lease
 * is taken over and the postback sent again, since a lost postback is silent and a repeated one
 * carries the same {conversion_id}, {txn_id} and {status} for the receiver to recognise.
 */
@Injectable()
export class PartnerPostbackDeliveries {
  /** How long a claim blocks others: the call's own timeout twice, and room for the database. */
  private readonly leaseSeconds: number;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    config: ConfigService<Config, true>,
  ) {
    this.leaseSeconds = (2 * config.get('partnerPostbacks', { infer: true }).timeoutMs + 10_000) / 1000;
  }

  /** Decides whether this run sends the event's postback, and if so claims it. */
  claim(conversionId: string, eventId: string): Promise<DeliveryTurn> {
    return this.dataSource.transaction(async (manager) => {
      await manager.query(`SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, [`postback:${conversionId}`]);
      const [own]: { state: string; live: boolean }[] = await manager.query(
        `SELECT state, claimed_at > now() - make_interval(secs => $2) AS live FROM postback_deliveries WHERE event_id = $1`,
        [eventId, this.leaseSeconds],
      );
      if (own?.state === 'delivered') return 'already_delivered';
      if (own?.state === 'superseded') return 'superseded';
      if (own?.state === 'sending' && own.live) return 'deferred';
      // A newer event with a postback supersedes this one's (the payout's own moves send none).
      if (await conversionsRepository.hasNewerPartnerPostbackEvent(manager, conversionId, eventId)) {
        await this.record(manager, conversionId, eventId, 'superseded');
        return 'superseded';
      }
      const earlier = await manager.query(
        `SELECT 1 FROM postback_deliveries WHERE conversion_id = $1 AND event_id < $2 AND state = 'sending' AND claimed_at > now() - make_interval(secs => $3) LIMIT 1`,
        [conversionId, eventId, this.leaseSeconds],
      );
      if (earlier.length) return 'deferred';
      await this.record(manager, conversionId, eventId, 'sending');
      return 'send';
    });
  }

  /** Records how the claimed call ended; a delivery stands even if a takeover settled first. */
  async settle(manager: EntityManager, eventId: string, state: 'delivered' | 'failed'): Promise<void> {
    await manager.query(`UPDATE postback_deliveries SET state = $2, updated_at = now() WHERE event_id = $1 AND (state = 'sending' OR $2 = 'delivered')`, [eventId, state]);
  }

  private async record(manager: EntityManager, conversionId: string, eventId: string, state: 'sending' | 'superseded'): Promise<void> {
    await manager.query(
      `INSERT INTO postback_deliveries (event_id, conversion_id, state) VALUES ($1, $2, $3)
       ON CONFLICT (event_id) DO UPDATE SET state = EXCLUDED.state, claimed_at = now(), updated_at = now()`,
      [eventId, conversionId, state],
    );
  }
}
