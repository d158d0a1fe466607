import { Injectable, OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { Config } from '../../../config/configuration';
import { inBatches, RetentionService } from '../../../queue/retention';

/** Portal sessions expired more than SESSION_RETENTION_DAYS ago are deleted by the retention job (README, "Retention"). */
@Injectable()
export class SessionRetention implements OnModuleInit {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly retention: RetentionService,
    private readonly config: ConfigService<Config, true>,
  ) {}

  onModuleInit(): void {
    this.retention.register({ kind: 'portal_sessions', run: () => this.prune() });
  }

  async prune(): Promise<number> {
    const { sessionDays: days, batchSize } = this.config.get('retention', { infer: true });
    return inBatches(batchSize, async (size) => {
      const [{ n }]: { n: number }[] = await this.dataSource.query(
        `WITH gone AS (DELETE FROM portal_sessions WHERE id IN (
           SELECT id FROM portal_sessions WHERE expires_at < now() - make_interval(days => $1) LIMIT $2) RETURNING 1)
         SELECT count(*)::int AS n FROM gone`,
        [days, size],
      );
      return n;
    });
  }
}
