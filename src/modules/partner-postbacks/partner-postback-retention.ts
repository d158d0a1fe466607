import { Injectable, OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { Config } from '../../config/configuration';
import { inBatches, RetentionService } from '../../queue/retention';

/** The partner postback attempt log is kept POSTBACK_ATTEMPT_RETENTION_DAYS (README, "Retention"); deliveries (the once-only record) are kept. */
@Injectable()
export class PartnerPostbackRetention implements OnModuleInit {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly retention: RetentionService,
    private readonly config: ConfigService<Config, true>,
  ) {}

  onModuleInit(): void {
    this.retention.register({ kind: 'postback_attempts', run: () => this.prune() });
  }

  async prune(): Promise<number> {
    const { postbackAttemptDays: days, batchSize } = this.config.get('retention', { infer: true });
    if (!days) return 0;
    return inBatches(batchSize, async (size) => {
      const [{ n }]: { n: number }[] = await this.dataSource.query(
        `WITH gone AS (DELETE FROM postback_attempts WHERE id IN (
           SELECT id FROM postback_attempts WHERE created_at < now() - make_interval(days => $1) LIMIT $2) RETURNING 1)
         SELECT count(*)::int AS n FROM gone`,
        [days, size],
      );
      return n;
    });
  }
}
