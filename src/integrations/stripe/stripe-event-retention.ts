import { Injectable, OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { Config } from '../../config/configuration';
import { inBatches, RetentionService } from '../../queue/retention';

/**
 * Processed Stripe events are kept STRIPE_EVENT_RETENTION_DAYS (README, "Retention"): their id
 * is what refuses a redelivery, and Stripe redelivers for three days at most. Unprocessed ones stay.
 */
@Injectable()
export class StripeEventRetention implements OnModuleInit {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly retention: RetentionService,
    private readonly config: ConfigService<Config, true>,
  ) {}

  onModuleInit(): void {
    this.retention.register({ kind: 'stripe_events', run: () => this.prune() });
  }

  async prune(): Promise<number> {
    const { stripeEventDays: days, batchSize } = this.config.get('retention', { infer: true });
    if (!days) return 0;
    return inBatches(batchSize, async (size) => {
      const [{ n }]: { n: number }[] = await this.dataSource.query(
        `WITH gone AS (DELETE FROM stripe_events WHERE id IN (
           SELECT id FROM stripe_events WHERE processed_at IS NOT NULL AND received_at < now() - make_interval(days => $1) LIMIT $2) RETURNING 1)
         SELECT count(*)::int AS n FROM gone`,
        [Math.max(days, 7), size],
      );
      return n;
    });
  }
}
