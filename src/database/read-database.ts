import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import type { PoolClient } from 'pg';
import { DataSource } from 'typeorm';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';
import { Config } from '../config/configuration';
import { dataSourceOptions } from './data-source-options';

/**
 * Where long reads go (reports, statements, exports): a streaming replica when
 * `DATABASE_REPLICA_URL` is set, so they take no connection or I/O from the primary's writers;
 * the primary otherwise. What reads here may lag the primary by the replica's delay, so nothing
 * that must read its own writes (a balance before a payout, a conversion just recorded) does.
 * When the replica cannot be reached these reads go to the primary (the same figures, only
 * fresher) and the replica is tried again REPLICA_RETRY_MS later.
 */
const REPLICA_RETRY_MS = 5000;

/** PostgreSQL or network errors that say the server is not there (rather than that the query is wrong). */
function unreachable(error: unknown): boolean {
  const { code, message } = error as { code?: string; message?: string };
  if (code && (/^(08|57P0)/.test(code) || ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'EPIPE'].includes(code))) return true;
  return /Connection terminated|timeout exceeded when trying to connect|the database system is (shutting down|starting up)|is not currently accepting connections/.test(
    message ?? '',
  );
}

@Injectable()
export class ReadDatabase implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(ReadDatabase.name);
  private replica: DataSource | null = null;
  private replicaDownUntil = 0;

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

  /** The data source for these reads: the replica, unless it was found unreachable a moment ago. */
  get source(): DataSource {
    return this.replica && Date.now() >= this.replicaDownUntil ? this.replica : this.primary;
  }

  query<T = unknown>(sql: string, params?: unknown[]): Promise<T> {
    return this.withFallback((source) => source.query(sql, params));
  }

  /** A connection of the pool for these reads (a cursor, a snapshot); `release` gives it back. */
  connection(): Promise<[PoolClient, (error?: Error) => void]> {
    return this.withFallback((source) => (source.driver as PostgresDriver).obtainMasterConnection() as Promise<[PoolClient, (error?: Error) => void]>);
  }

  private async withFallback<T>(read: (source: DataSource) => Promise<T>): Promise<T> {
    const source = this.source;
    if (source === this.primary) return read(source);
    try {
      return await read(source);
    } catch (error) {
      if (!unreachable(error)) throw error;
      this.replicaDownUntil = Date.now() + REPLICA_RETRY_MS;
      this.logger.warn(`read replica unreachable (${(error as Error).message}): reports and exports read from the primary, replica retried in ${REPLICA_RETRY_MS / 1000} s`);
      return read(this.primary);
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await this.replica?.destroy();
  }
}
