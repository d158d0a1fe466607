import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { MetricsService } from '../../common/metrics/metrics.service';

/** Payout failures to alert on (README, "Metrics to alert on"), read from the payouts' own tables when /metrics is scraped. */
@Injectable()
export class PayoutMetrics {
  constructor(@InjectDataSource() dataSource: DataSource, metrics: MetricsService) {
    metrics.gauge('afx_payouts_failed_last_day', 'payouts created in the last 24 hours that failed (refused or reversed transfers)', async () => {
      const [row] = await dataSource.query(`SELECT count(*)::int AS n FROM payouts WHERE created_at > now() - interval '1 day' AND status = 'failed'`);
      return row.n;
    });
    metrics.gauge('afx_payout_runs_failed_last_day', 'payout runs created in the last 24 hours that failed for good', async () => {
      const [row] = await dataSource.query(`SELECT count(*)::int AS n FROM payout_runs WHERE created_at > now() - interval '1 day' AND status = 'failed'`);
      return row.n;
    });
  }
}
