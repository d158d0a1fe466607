import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { Config } from '../config/configuration';
import { dataSourceOptions } from './data-source-options';

/**
 * Where long reads go (reports, statements, exports): a streaming replica when
 * `DATABASE_REPLICA_URL` is set, so they take no connection or I/O from the primary's writers;
 * the primary otherwise. What reads here may lag the primary by the replica's delay, so nothing
 * that must read its own writes (a balance before a payout, a conversion just recorded) does.
 */
@Injectable()
export class ReadDatabase implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(ReadDatabase.name);
  private replica: DataSource | null = null;

  constructor(
    @InjectDataSource() private readonly primary: DataSource,
    private readonly config: ConfigService<Config, true>,
  ) {}

  async onModuleInit(): Promise<void> {
    const { replicaUrl, poolSize } = this.config.get('database', { infer: true });
    if (!replicaUrl) return;
    const replica = new DataSource({ ...dataSourceOptions(replicaUrl, poolSize, this.primary.options.entities ?? []), migrationsRun: false });
    try {
      this.replica = await replica.initialize();
    } catch (error) {
      throw new Error(`DATABASE_REPLICA_URL: cannot connect to the read replica (${(error as Error).message}); fix the URL or unset it to read from the primary`);
    }
    this.logger.log('reports and exports read from the replica (DATABASE_REPLICA_URL)');
  }

  /** The data source for these reads. */
  get source(): DataSource {
    return this.replica ?? this.primary;
  }

  query<T = unknown>(sql: string, params?: unknown[]): Promise<T> {
    return this.source.query(sql, params);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.replica?.destroy();
  }
}
