import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { MetricsService } from '../../common/metrics/metrics.service';
import { StripeClient } from './stripe.client';

/** Stripe's error types by HTTP status, as the SDK names its error classes. */
export function stripeErrorType(status: number): string {
  if (status === 400 || status === 404) return 'invalid_request';
  if (status === 401) return 'authentication';
  if (status === 402) return 'card';
  if (status === 403) return 'permission';
  if (status === 409) return 'idempotency';
  if (status === 429) return 'rate_limit';
  return status >= 500 ? 'api' : 'other';
}

/**
 * Stripe to alert on (README, "Metrics to alert on"): every answer of Stripe's API by method and
 * status class, the errors by type, and the webhook lag: events received and not processed yet.
 */
@Injectable()
export class StripeMetrics {
  constructor(client: StripeClient, @InjectDataSource() dataSource: DataSource, metrics: MetricsService) {
    const requests = metrics.counter('afx_stripe_requests_total', "answers of Stripe's API, by method and status class", ['method', 'status']);
    const errors = metrics.counter('afx_stripe_errors_total', "Stripe's error answers by type (invalid_request, authentication, card, permission, idempotency, rate_limit, api)", [
      'type',
    ]);
    if (client.configured)
      client.api.on('response', (response: { method: string; status: number }) => {
        requests.inc({ method: response.method, status: `${Math.floor(response.status / 100)}xx` });
        if (response.status >= 400) errors.inc({ type: stripeErrorType(response.status) });
      });
    metrics.gauge('afx_stripe_events_unprocessed', 'Stripe webhook events received and not processed yet', async () => {
      const [row] = await dataSource.query(`SELECT count(*)::int AS n FROM stripe_events WHERE processed_at IS NULL`);
      return row.n;
    });
    metrics.gauge('afx_stripe_webhook_lag_seconds', 'age of the oldest Stripe event received and not processed yet; 0 when none', async () => {
      const [row] = await dataSource.query(`SELECT coalesce(extract(epoch FROM now() - min(received_at)), 0)::float AS age FROM stripe_events WHERE processed_at IS NULL`);
      return row.age;
    });
  }
}
