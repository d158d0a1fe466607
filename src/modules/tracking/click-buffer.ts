import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { HttpAdapterHost } from '@nestjs/core';
import { InjectDataSource } from '@nestjs/typeorm';
import { hash } from 'node:crypto';
import type { Counter } from 'prom-client';
import { DataSource } from 'typeorm';
import { Config } from '../../config/configuration';
import { RedisService } from '../../queue/redis.service';
import { MetricsService } from '../../common/metrics/metrics.service';
import { countryTable, fillCountries } from '../../common/geo/countries';
import { fillClickRisk } from './click-risk';
import { asnTable } from '../../common/risk/asn';
import type { Risk } from '../../common/risk/risk';
import { BatchBuffer, DropReason } from './batch-buffer';
import type { ClickStatus } from './click.entity';
import type { Channel, SubValues } from './tracking-link.entity';
import { trackingRepository } from './tracking.repository';

/** A click as the redirect records it; `isUnique` and `country` are decided when its batch is written. */
export interface ClickRecord extends SubValues {
  id: string;
  clickedAt: Date;
  linkId: string;
  offerId: string;
  affiliateId: string;
  advertiserId: string;
  channel: Channel;
  ip: string | null;
  userAgent: string | null;
  referrer: string | null;
  status: ClickStatus;
  isUnique?: boolean;
  country?: string | null;
  /** Decided with the batch (click-risk.ts). */
  risk?: Risk;
}

const UNIQUE_WINDOW_MS = 24 * 3600 * 1000;
/** SET NX PX on each key; answers 1 where the key was new (a first visit), 0 where it existed. */
const MARK_SEEN = 'afxMarkSeen';
const MARK_SEEN_LUA = `local out = {}
for i, key in ipairs(KEYS) do out[i] = redis.call('SET', key, '1', 'PX', ARGV[1], 'NX') and 1 or 0 end
return out`;
type MarkSeen = Record<typeof MARK_SEEN, (numberOfKeys: number, ...args: (string | number)[]) => Promise<number[]>>;
const REDIS_TIMEOUT_MS = 1000;
const SHUTDOWN_TIMEOUT_MS = 10_000;

/** PostgreSQL refused the data itself (class 22 data exception, 23 integrity): retrying will not help. */
const isDataError = (error: unknown) => /^2[23]/.test(String((error as { code?: unknown })?.code ?? ''));

/**
 * Holds clicks in memory and writes them in batches with COPY (see BatchBuffer for the rules).
 * Uniqueness (same IP, user agent and link within 24 h) is decided per batch in one Redis round
 * trip of SET NX PX; if Redis fails, the clicks count as unique and the fallback is counted.
 *
 * Shutdown: Nest closes the HTTP server (letting in-flight redirects finish) before
 * onApplicationShutdown, and calls that hook on this (non-global) module before the global
 * TypeORM module's, which closes the pool; so the final flush sees every served click and a
 * live pool. beforeApplicationShutdown writes the bulk early, while requests still arrive.
 */
@Injectable()
export class ClickBuffer implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly logger = new Logger(ClickBuffer.name);
  private readonly buffer: BatchBuffer<ClickRecord>;
  private readonly dropped: Counter<string>;
  private readonly written: Counter<string>;
  private readonly uniqueFallbacks: Counter<string>;
  private lastDropLog = 0;

  constructor(
    config: ConfigService<Config, true>,
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly redis: RedisService,
    metrics: MetricsService,
    private readonly adapterHost: HttpAdapterHost,
  ) {
    const tracking = config.get('tracking', { infer: true });
    this.dropped = metrics.counter('afx_clicks_dropped_total', 'Clicks served but never stored, by reason', ['reason']);
    this.written = metrics.counter('afx_clicks_written_total', 'Clicks written to PostgreSQL');
    this.uniqueFallbacks = metrics.counter('afx_click_unique_fallback_total', 'Clicks counted unique because Redis did not answer');
    // ioredis sends EVALSHA and falls back to EVAL once per connection; all keys share the app's hash tag.
    this.redis.client.defineCommand(MARK_SEEN, { lua: MARK_SEEN_LUA });
    this.buffer = new BatchBuffer<ClickRecord>({
      maxItems: tracking.bufferMax,
      batchSize: tracking.batchSize,
      flushIntervalMs: tracking.flushIntervalMs,
      backpressureTimeoutMs: tracking.backpressureTimeoutMs,
      // A slow write (a busy database or event loop) does not hold the next interval's clicks back.
      maxWritesInFlight: 2,
      write: (batch) => this.write(batch),
      onDrop: (count, reason) => this.onDrop(count, reason),
      onWriteError: (error, size, failures) =>
        this.logger.warn(`writing ${size} clicks failed (attempt ${failures}; ${this.buffer.size} buffered), retrying: ${(error as Error).message}`),
    });
    metrics.gauge('afx_click_buffer_clicks', 'clicks served and not written yet in this process', async () => this.buffer.size);
    metrics.gauge('afx_click_buffer_capacity', 'CLICK_BUFFER_MAX: past it redirects wait, then the oldest clicks are dropped', async () => tracking.bufferMax);
  }

  /** Resolves once the click is buffered: at once, unless the buffer is full (back-pressure). */
  push(click: ClickRecord): Promise<void> {
    return this.buffer.push(click);
  }

  /** Writes every click pushed before the call. */
  flush(): Promise<void> {
    return this.buffer.flush();
  }

  /** A click still waiting in this process's buffer. */
  findBuffered(id: string): ClickRecord | undefined {
    return this.buffer.find((c) => c.id === id);
  }

  get size(): number {
    return this.buffer.size;
  }

  /**
   * In a process that serves redirects, the country data is read before it listens: read on the
   * first batch instead, it held that batch back (a quarter of a second on a busy machine), and
   * a crash then lost more than one flush interval of clicks.
   */
  async onApplicationBootstrap(): Promise<void> {
    this.buffer.start();
    if (this.adapterHost.httpAdapter) await Promise.all([countryTable(), asnTable()]);
  }

  async beforeApplicationShutdown(): Promise<void> {
    await Promise.race([this.flush(), new Promise((resolve) => setTimeout(resolve, SHUTDOWN_TIMEOUT_MS).unref())]);
  }

  async onApplicationShutdown(): Promise<void> {
    const lost = await this.buffer.close(SHUTDOWN_TIMEOUT_MS);
    if (lost > 0) this.logger.error(`shutting down with ${lost} clicks that could not be written`);
  }

  private async write(batch: ClickRecord[]): Promise<void> {
    await this.decideUniqueness(batch.filter((c) => c.isUnique === undefined));
    await fillCountries(batch);
    await fillClickRisk(batch);
    try {
      await this.dataSource.transaction((manager) => trackingRepository.copyClicks(manager, batch));
    } catch (error) {
      if (!isDataError(error)) throw error;
      // Written before (a commit whose answer was lost: a unique violation) or a row PostgreSQL
      // refuses: the INSERT that skips existing rows, then, if it is refused too, row by row.
      try {
        await this.insert(batch);
      } catch (again) {
        if (!isDataError(again) || batch.length === 1) throw again;
        await this.insertOneByOne(batch, again);
      }
    }
    this.written.inc(batch.length);
  }

  private insert(batch: ClickRecord[]): Promise<void> {
    return trackingRepository.insertClicks(this.dataSource.manager, batch);
  }

  /** A batch PostgreSQL refused as data: keep every row it accepts, drop (and log) the others. */
  private async insertOneByOne(batch: ClickRecord[], cause: unknown): Promise<void> {
    this.logger.error(`a batch of ${batch.length} clicks was refused (${(cause as Error).message}); writing row by row`);
    for (const click of batch) {
      try {
        await this.insert([click]);
      } catch (error) {
        if (!isDataError(error)) throw error;
        this.logger.error({ clickId: click.id, linkId: click.linkId, msg: `click dropped: ${(error as Error).message}` });
        this.onDrop(1, 'invalid');
      }
    }
  }

  /**
   * Marks each click unique or not with one round trip: a Lua script that runs `SET key 1 PX
   * 86400000 NX` for every distinct visitor key of the batch (a pipeline of SETs does the same
   * in Redis but costs node twice the CPU per click; measured). A key seen twice in one batch
   * is unique only the first time.
   */
  private async decideUniqueness(clicks: ClickRecord[]): Promise<void> {
    if (clicks.length === 0) return;
    const keys = clicks.map((click) => this.uniquenessKey(click));
    const distinct = [...new Set(keys)];
    let timer: NodeJS.Timeout | undefined;
    try {
      const replies = await Promise.race([
        (this.redis.client as unknown as MarkSeen)[MARK_SEEN](distinct.length, ...distinct, UNIQUE_WINDOW_MS),
        new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${REDIS_TIMEOUT_MS} ms`)), REDIS_TIMEOUT_MS))),
      ]);
      const fresh = new Set(distinct.filter((_, i) => replies[i] === 1));
      clicks.forEach((click, i) => {
        click.isUnique = fresh.delete(keys[i]);
      });
    } catch (error) {
      for (const click of clicks) click.isUnique = true;
      this.uniqueFallbacks.inc(clicks.length);
      this.logger.warn(`redis unavailable for click uniqueness, ${clicks.length} clicks counted unique: ${(error as Error).message}`);
    } finally {
      clearTimeout(timer);
    }
  }

  private uniquenessKey(click: ClickRecord): string {
    const digest = hash('sha256', `${click.ip ?? ''}|${click.userAgent ?? ''}|${click.linkId}`, 'base64url');
    return this.redis.key('clicks', 'seen', digest.slice(0, 24));
  }

  private onDrop(count: number, reason: DropReason): void {
    this.dropped.inc({ reason }, count);
    const now = Date.now();
    // At most one line every 5 s: a database outage drops clicks by the thousand.
    if (reason === 'buffer_full' && now - this.lastDropLog > 5000) {
      this.lastDropLog = now;
      this.logger.error(`click buffer full (${this.buffer.size}): dropping the oldest clicks; see afx_clicks_dropped_total`);
    }
  }
}
