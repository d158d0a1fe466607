import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { MetricsService } from '../../common/metrics/metrics.service';
import { Config } from '../../config/configuration';
import { inBatches, RetentionService } from '../../queue/retention';
import { CUT_IP, HOLDS_PERSONAL_DATA, trackingRepository } from './tracking.repository';

const DAY_MS = 24 * 3600 * 1000;
const DAILY_PARTITION = /^clicks_p(\d{4})(\d{2})(\d{2})$/;
/** Marks a daily partition whose IPs and user agents were cut (the partition remembers, so it is read once). */
const TRUNCATED_MARK = 'afx:personal-data-truncated';
/** How long a plain DETACH may wait for its lock: click inserts queue behind it meanwhile. */
const DETACH_LOCK_TIMEOUT = '2s';

interface DailyPartition {
  name: string;
  /** The first instant after the day it holds. */
  end: Date;
  comment: string | null;
  detachPending: boolean;
}

/**
 * What the retention job does to clicks (README, "Retention"): daily partitions wholly older
 * than CLICK_RETENTION_DAYS are detached and dropped, old rows of the default partition deleted
 * in batches, and IPs cut to their network (user agents cleared) once a day is older than
 * CLICK_IP_RETENTION_DAYS. The report rollups are built at write time and are kept.
 */
@Injectable()
export class ClickRetentionService implements OnModuleInit {
  private readonly logger = new Logger(ClickRetentionService.name);
  private readonly settings;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly retention: RetentionService,
    config: ConfigService<Config, true>,
    metrics: MetricsService,
  ) {
    this.settings = config.get('retention', { infer: true });
    metrics.gauge('afx_click_partitions_ahead', 'daily click partitions that start after today (UTC); below 1 clicks go to the default partition', async () => {
      const tomorrow = new Date(Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate()) + DAY_MS);
      return (await this.partitions()).filter((p) => p.end.getTime() - DAY_MS >= tomorrow.getTime()).length;
    });
  }

  onModuleInit(): void {
    this.retention.register({ kind: 'click_partitions', run: () => this.dropPartitions() });
    this.retention.register({ kind: 'default_partition_clicks', run: () => this.pruneDefault() });
    this.retention.register({ kind: 'click_personal_data', run: () => this.truncatePersonalData() });
  }

  /** Detaches and drops the daily partitions that end before the window; answers how many went. */
  async dropPartitions(now = new Date()): Promise<number> {
    if (!this.settings.clickDays) return 0;
    const cutoff = now.getTime() - this.settings.clickDays * DAY_MS;
    const old = (await this.partitions()).filter((p) => p.end.getTime() <= cutoff);
    if (!old.length) return 0;
    // DETACH … CONCURRENTLY takes no lock that stops inserts, but PostgreSQL refuses it while the
    // table has a DEFAULT partition (ours has one: no click is ever refused). Then a plain DETACH
    // under a short lock_timeout: inserts wait for at most that long; the next run retries.
    const concurrently = !(await this.hasDefaultPartition());
    for (const partition of old) {
      if (partition.detachPending) await this.dataSource.query(`ALTER TABLE clicks DETACH PARTITION ${partition.name} FINALIZE`);
      else if (concurrently) await this.dataSource.query(`ALTER TABLE clicks DETACH PARTITION ${partition.name} CONCURRENTLY`);
      else
        await this.dataSource.transaction(async (manager) => {
          await manager.query(`SET LOCAL lock_timeout = '${DETACH_LOCK_TIMEOUT}'`);
          await manager.query(`ALTER TABLE clicks DETACH PARTITION ${partition.name}`);
        });
      await this.dataSource.query(`DROP TABLE ${partition.name}`);
      this.logger.log(`retention: dropped click partition ${partition.name} (older than ${this.settings.clickDays} days)`);
    }
    return old.length;
  }

  /** Deletes clicks older than the window from the default partition, in batches. */
  async pruneDefault(now = new Date()): Promise<number> {
    if (!this.settings.clickDays) return 0;
    const cutoff = new Date(now.getTime() - this.settings.clickDays * DAY_MS);
    return inBatches(this.settings.batchSize, (size) => trackingRepository.deleteOldDefaultClicks(this.dataSource.manager, cutoff, size));
  }

  /** Cuts IPs to their network and clears user agents of clicks older than CLICK_IP_RETENTION_DAYS; answers how many rows changed. */
  async truncatePersonalData(now = new Date()): Promise<number> {
    if (!this.settings.clickIpDays) return 0;
    const cutoff = now.getTime() - this.settings.clickIpDays * DAY_MS;
    let total = 0;
    for (const partition of await this.partitions()) {
      if (partition.end.getTime() > cutoff || partition.comment === TRUNCATED_MARK || partition.detachPending) continue;
      total += await this.truncatePartition(partition.name);
      await this.dataSource.query(`COMMENT ON TABLE ${partition.name} IS '${TRUNCATED_MARK}'`);
    }
    total += await inBatches(this.settings.batchSize, (size) => trackingRepository.cutPersonalDataOfDefaultClicks(this.dataSource.manager, new Date(cutoff), size));
    return total;
  }

  /** Walks one partition in primary-key order (each row read once), a batch per statement. */
  private async truncatePartition(name: string): Promise<number> {
    let after: [string, string] = ['-infinity', ''];
    let total = 0;
    for (;;) {
      const [row]: { n: number; seen: number; last_at: string | null; last_id: string | null }[] = await this.dataSource.query(
        `WITH batch AS (SELECT clicked_at, id FROM ${name} WHERE (clicked_at, id) > ($1::timestamptz, $2) ORDER BY clicked_at, id LIMIT $3),
              cut AS (UPDATE ${name} k SET ip = ${CUT_IP('k.ip')}, user_agent = NULL FROM batch b
                      WHERE k.clicked_at = b.clicked_at AND k.id = b.id AND ${HOLDS_PERSONAL_DATA('k')} RETURNING 1),
              last AS (SELECT clicked_at, id FROM batch ORDER BY clicked_at DESC, id DESC LIMIT 1)
         SELECT (SELECT count(*) FROM cut)::int AS n, (SELECT count(*) FROM batch)::int AS seen,
                (SELECT clicked_at::text FROM last) AS last_at, (SELECT id FROM last) AS last_id`,
        [...after, this.settings.batchSize],
      );
      total += row.n;
      if (row.seen < this.settings.batchSize || !row.last_at || row.last_id === null) return total;
      after = [row.last_at, row.last_id];
    }
  }

  private async partitions(): Promise<DailyPartition[]> {
    const rows: { name: string; comment: string | null; detach_pending: boolean }[] = await this.dataSource.query(
      `SELECT c.relname AS name, obj_description(c.oid, 'pg_class') AS comment, i.inhdetachpending AS detach_pending
         FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'clicks'::regclass`,
    );
    return rows.flatMap((row) => {
      const day = DAILY_PARTITION.exec(row.name);
      if (!day) return [];
      const start = Date.UTC(Number(day[1]), Number(day[2]) - 1, Number(day[3]));
      return [{ name: row.name, end: new Date(start + DAY_MS), comment: row.comment, detachPending: row.detach_pending }];
    });
  }

  private async hasDefaultPartition(): Promise<boolean> {
    const [row]: { n: number }[] = await this.dataSource.query(`SELECT count(*)::int AS n FROM pg_partitioned_table p WHERE p.partrelid = 'clicks'::regclass AND p.partdefid <> 0`);
    return row.n > 0;
  }
}
