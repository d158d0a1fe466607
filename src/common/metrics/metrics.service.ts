import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

const DURATION_SAMPLE_EVERY = 16;

/** One registry per app instance, so tests that boot several apps do not collide. */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();
  /** "METHOD route" of the routes that count their own requests (see requestRecorder). */
  readonly selfRecorded = new Set<string>();
  private readonly tallies: (() => void)[] = [];

  readonly httpRequests = new Counter({
    name: 'afx_http_requests_total',
    help: 'HTTP requests by route and status class',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
    collect: () => this.tallies.forEach((add) => add()),
  });

  readonly httpDuration = new Histogram({
    name: 'afx_http_request_duration_seconds',
    help: `HTTP request duration by route (routes that record their own requests: one in ${DURATION_SAMPLE_EVERY})`,
    labelNames: ['method', 'route'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });

  /** What the sweeper found lost and handed back to the queues (see SweeperService). */
  readonly sweeperRedriven = new Counter({
    name: 'afx_sweeper_redriven_total',
    help: 'lost work the sweeper re-drove, by kind: missing_postings, failed_jobs, stuck_runs, pruned_outbox',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'afx_' });
  }

  /**
   * For a hot route whose handler records its own requests instead of the per-request hook of
   * configureApp: counts with plain increments, added to afx_http_requests_total whenever it is
   * read, and observes the duration of one request in DURATION_SAMPLE_EVERY.
   */
  requestRecorder(method: string, route: string): (statusCode: number, elapsedMs: number) => void {
    this.selfRecorded.add(`${method} ${route}`);
    const byClass = [0, 0, 0, 0, 0, 0];
    let seen = 0;
    this.tallies.push(() =>
      byClass.forEach((count, statusClass) => {
        if (count === 0) return;
        byClass[statusClass] = 0;
        this.httpRequests.inc({ method, route, status: `${statusClass}xx` }, count);
      }),
    );
    return (statusCode, elapsedMs) => {
      byClass[Math.floor(statusCode / 100) % 6]++;
      if (++seen % DURATION_SAMPLE_EVERY === 0) this.httpDuration.observe({ method, route }, elapsedMs / 1000);
    };
  }

  counter(name: string, help: string, labelNames: string[] = []): Counter<string> {
    const existing = this.registry.getSingleMetric(name);
    return (existing as Counter<string>) ?? new Counter({ name, help, labelNames, registers: [this.registry] });
  }

  /** A gauge read when /metrics is scraped: `read` answers its value (a query, say); NaN when it fails (the scrape still answers). */
  gauge(name: string, help: string, read: () => Promise<number>): Gauge<string> {
    const existing = this.registry.getSingleMetric(name);
    if (existing) return existing as Gauge<string>;
    return new Gauge({
      name,
      help,
      registers: [this.registry],
      async collect() {
        this.set(await read().catch(() => NaN));
      },
    });
  }
}
