import { Injectable, OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { Config } from '../../config/configuration';
import { inBatches, RetentionService } from '../../queue/retention';

const DAY_MS = 24 * 3600 * 1000;

/**
 * Outgoing webhook events and their delivery log are kept WEBHOOK_EVENT_RETENTION_DAYS (README,
 * "Retention"): deliveries older than that go first, then the events as old that no delivery
 * names any more (an event whose last retry is younger waits for it). Both stay at least a day
 * longer than WEBHOOK_RETRY_WINDOW_MS, so nothing still retried goes. Endpoints stay.
 */
@Injectable()
export class WebhookRetention implements OnModuleInit {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly retention: RetentionService,
    private readonly config: ConfigService<Config, true>,
  ) {}

  onModuleInit(): void {
    this.retention.register({ kind: 'webhook_deliveries', run: () => this.pruneDeliveries() });
    this.retention.register({ kind: 'webhook_events', run: () => this.pruneEvents() });
  }

  pruneDeliveries(): Promise<number> {
    return this.prune(
      `WITH gone AS (DELETE FROM webhook_deliveries WHERE id IN (
         SELECT id FROM webhook_deliveries WHERE created_at < now() - make_interval(days => $1) LIMIT $2) RETURNING 1)
       SELECT count(*)::int AS n FROM gone`,
    );
  }

  pruneEvents(): Promise<number> {
    return this.prune(
      `WITH gone AS (DELETE FROM webhook_events WHERE id IN (
         SELECT e.id FROM webhook_events e WHERE e.created_at < now() - make_interval(days => $1)
            AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = e.id) LIMIT $2) RETURNING 1)
       SELECT count(*)::int AS n FROM gone`,
    );
  }

  /** Runs `sql` (a batch delete of rows older than $1 days, at most $2 of them) in batches. */
  private async prune(sql: string): Promise<number> {
    const { webhookEventDays: days, batchSize } = this.config.get('retention', { infer: true });
    if (!days) return 0;
    const minDays = Math.ceil(this.config.get('webhooks', { infer: true }).retryWindowMs / DAY_MS) + 1;
    return inBatches(batchSize, async (size) => {
      const [{ n }]: { n: number }[] = await this.dataSource.query(sql, [Math.max(days, minDays), size]);
      return n;
    });
  }
}
