import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { trackingRepository } from './tracking.repository';

const DAY_MS = 24 * 3600 * 1000;
const DAYS_AHEAD = 7;
const EVERY_MS = 3600 * 1000;

/** clicks_pYYYYMMDD: the UTC day it holds. */
export function partitionName(day: Date): string {
  return `clicks_p${day.toISOString().slice(0, 10).replace(/-/g, '')}`;
}

/**
 * Keeps a daily partition of `clicks` ready for today and the next seven days (UTC), at start
 * and every hour. Idempotent and safe with several processes: the work runs under a
 * transaction-scoped advisory lock and creates only what is missing. Clicks that landed in the
 * DEFAULT partition meanwhile are moved into their day's partition when it is created.
 */
@Injectable()
export class ClickPartitionsService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(ClickPartitionsService.name);
  private timer: NodeJS.Timeout | null = null;

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.ensure().catch((error) => this.logger.error(`click partitions not prepared (clicks go to the default partition): ${error.message}`));
    this.timer = setInterval(() => {
      this.ensure().catch((error) => this.logger.error(`click partitions not prepared: ${error.message}`));
    }, EVERY_MS).unref();
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** Creates the missing partitions from `from`'s day on; answers the names it created. */
  async ensure(from = new Date(), days = DAYS_AHEAD + 1): Promise<string[]> {
    const first = Date.UTC(from.getUTCFullYear(), from.getUTCMonth(), from.getUTCDate());
    const wanted = Array.from({ length: days }, (_, i) => new Date(first + i * DAY_MS));
    return this.dataSource.transaction(async (manager) => {
      await trackingRepository.lockClickPartitions(manager);
      const existing = new Set(await trackingRepository.clickPartitions(manager));
      const created: string[] = [];
      for (const day of wanted) {
        const name = partitionName(day);
        if (existing.has(name)) continue;
        await trackingRepository.createClickPartition(manager, name, day.toISOString(), new Date(day.getTime() + DAY_MS).toISOString());
        created.push(name);
      }
      if (created.length) this.logger.log(`created click partitions ${created.join(', ')}`);
      return created;
    });
  }
}
