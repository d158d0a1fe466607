import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { COMPACT_DELTAS, REBUILD, REBUILD_LOCK } from '../tracking/rollup-sql';

const HOUR_MS = 3600_000;
const DAY_MS = 24 * HOUR_MS;
const COMPACT_EVERY_MS = 2000;
const COMPACT_BATCH = 20_000;

/**
 * Keeps the conversion rollups compact (folds the deltas in every few seconds; any process may,
 * one at a time) and rebuilds rollups from raw clicks and conversions on demand.
 */
@Injectable()
export class RollupsService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(RollupsService.name);
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<number> | null = null;

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => {
      this.compact().catch((error) => this.logger.warn(`folding report deltas failed, retrying: ${error.message}`));
    }, COMPACT_EVERY_MS).unref();
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running?.catch(() => undefined);
  }

  /** Folds every delta written so far into the rollups; answers how many it folded. */
  compact(): Promise<number> {
    this.running ??= this.compactAll().finally(() => (this.running = null));
    return this.running;
  }

  /**
   * Recomputes the rollups of the whole hours that cover [from, to), one UTC day per
   * transaction: each day locks out rollup writers (click flushes wait, they do not fail) for
   * the time it takes, so a long range never holds them up for long.
   */
  async rebuild(from: Date, to: Date): Promise<{ from: Date; to: Date }> {
    const start = Math.floor(from.getTime() / HOUR_MS) * HOUR_MS;
    const end = Math.ceil(to.getTime() / HOUR_MS) * HOUR_MS;
    for (let at = start; at < end;) {
      const next = Math.min(end, (Math.floor(at / DAY_MS) + 1) * DAY_MS);
      await this.dataSource.transaction(async (manager) => {
        // A day of clicks is grouped in memory rather than sorted on disk; JIT compiles for longer than it saves here.
        await manager.query(`SET LOCAL work_mem = '256MB'; SET LOCAL jit = off`);
        await manager.query(REBUILD_LOCK);
        for (const sql of REBUILD) await manager.query(sql, [new Date(at), new Date(next)]);
      });
      at = next;
    }
    this.logger.log(`report rollups rebuilt for ${new Date(start).toISOString()} – ${new Date(end).toISOString()}`);
    return { from: new Date(start), to: new Date(end) };
  }

  private async compactAll(): Promise<number> {
    let total = 0;
    for (;;) {
      const moved = await this.dataSource.transaction(async (manager) => {
        const [{ locked }] = await manager.query(`SELECT pg_try_advisory_xact_lock(hashtext('afx:report-compaction')) AS locked`);
        if (!locked) return 0;
        const [row] = await manager.query(COMPACT_DELTAS, [COMPACT_BATCH]);
        return row.moved as number;
      });
      total += moved;
      if (moved < COMPACT_BATCH) return total;
    }
  }
}
