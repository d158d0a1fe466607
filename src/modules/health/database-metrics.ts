import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Gauge } from 'prom-client';
import { DataSource } from 'typeorm';
import { MetricsService } from '../../common/metrics/metrics.service';

interface PgPool {
  totalCount: number;
  idleCount: number;
  waitingCount: number;
}

/** The connection pool of this process (README, "Metrics to alert on"): waiting requests mean the pool is too small or the database too slow. */
@Injectable()
export class DatabaseMetrics {
  constructor(@InjectDataSource() dataSource: DataSource, metrics: MetricsService) {
    const pool = () => (dataSource.driver as unknown as { master?: PgPool }).master;
    new Gauge({
      name: 'afx_db_pool_connections',
      help: "this process's PostgreSQL pool: connections open, idle, and queries waiting for one",
      labelNames: ['state'],
      registers: [metrics.registry],
      collect() {
        const p = pool();
        if (!p) return;
        this.set({ state: 'open' }, p.totalCount);
        this.set({ state: 'idle' }, p.idleCount);
        this.set({ state: 'waiting' }, p.waitingCount);
      },
    });
  }
}
