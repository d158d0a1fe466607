import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { JobsOptions, Queue } from 'bullmq';
import { ConfigService } from '@nestjs/config';
import { Config } from '../../config/configuration';
import { DataSource } from 'typeorm';
import { MetricsService } from '../../common/metrics/metrics.service';
import { QUEUES, QueueName } from '../queues';
import { outboxRepository, OutboxRow } from './outbox.repository';
import { OutboxService } from './outbox.service';
import { isBatchRoute, OutboxBatchRoute, OutboxRoutes } from './outbox.topics';

const POLL_MS = 250;
const BATCH = 500;
const REDIS_TIMEOUT_MS = 5_000;
const MAX_BACKOFF_MS = 10_000;
const PRUNE_BATCH = 1000;
/** How long a commit's notification waits, so the messages of commits close together share a pass (and a batch job). */
const GATHER_MS = 50;

/** Appends `value` to the list `map` holds for `key`. */
function appendTo<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/**
 * Moves outbox rows to BullMQ. Rows are claimed with SKIP LOCKED, so any number of processes
 * may relay at once; a row is marked relayed only after Redis accepted its job, so a Redis
 * outage delays work and loses none.
 */
@Injectable()
export class OutboxRelay implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(OutboxRelay.name);
  private readonly queues: Record<QueueName, Queue>;
  private timer: NodeJS.Timeout | undefined;
  private dueAt = Infinity;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private failures = 0;
  private unsubscribe: (() => void) | undefined;
  private readonly relayed;
  private readonly retentionHours: number;
  /** Per-queue options on top of the defaults: outgoing postbacks retry on their own schedule. */
  private readonly jobOptions: Partial<Record<QueueName, JobsOptions>>;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly outbox: OutboxService,
    private readonly routes: OutboxRoutes,
    metrics: MetricsService,
    config: ConfigService<Config, true>,
    @InjectQueue(QUEUES.outbox) outboxQueue: Queue,
    @InjectQueue(QUEUES.commissions) commissions: Queue,
    @InjectQueue(QUEUES.partnerPostbacks) partnerPostbacks: Queue,
    @InjectQueue(QUEUES.payouts) payouts: Queue,
    @InjectQueue(QUEUES.billing) billing: Queue,
    @InjectQueue(QUEUES.maintenance) maintenance: Queue,
  ) {
    this.queues = { outbox: outboxQueue, commissions, postbacks: partnerPostbacks, payouts, billing, maintenance };
    const retry = config.get('partnerPostbacks', { infer: true });
    this.jobOptions = { postbacks: { attempts: retry.maxAttempts, backoff: { type: 'exponential', delay: retry.retryBaseMs } } };
    this.relayed = metrics.counter('afx_outbox_relayed_total', 'outbox messages handed to BullMQ', ['topic']);
    this.retentionHours = config.get('app', { infer: true }).outboxRetentionHours;
    metrics.gauge('afx_outbox_parked_rows', 'outbox messages parked because the relay cannot hand them over (see outbox.error)', () =>
      outboxRepository.countParked(this.dataSource.manager),
    );
    metrics.gauge('afx_outbox_backlog_rows', 'outbox messages not relayed yet (parked ones left out)', () => outboxRepository.countWaiting(this.dataSource.manager));
    metrics.gauge('afx_outbox_oldest_unrelayed_age_seconds', 'age of the oldest outbox message not yet relayed (parked ones left out); 0 when none', () =>
      outboxRepository.oldestWaitingAge(this.dataSource.manager),
    );
  }

  onApplicationBootstrap(): void {
    this.unsubscribe = this.outbox.onNotify(() => this.soon());
    this.schedule(0);
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    clearTimeout(this.timer);
    await this.running;
  }

  /** Relays now (or a moment after the pass under way). */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    clearTimeout(this.timer);
    this.dueAt = Infinity;
    this.running = this.pass().finally(() => {
      this.running = undefined;
      const backoff = this.failures ? Math.min(MAX_BACKOFF_MS, POLL_MS * 2 ** this.failures) : POLL_MS;
      if (this.again && !this.failures) {
        this.again = false;
        this.schedule(GATHER_MS);
      } else {
        this.schedule(backoff);
      }
    });
  }

  /** Relays in a moment (GATHER_MS), unless a pass is already due sooner or under way. */
  private soon(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.dueAt > Date.now() + GATHER_MS) this.schedule(GATHER_MS);
  }

  /** Relays until nothing is left; tests and shutdown use it. */
  async drain(): Promise<void> {
    for (;;) {
      await this.running;
      const moved = await this.relayBatch();
      if (moved === 0) return;
    }
  }

  /**
   * Deletes relayed rows older than OUTBOX_RETENTION_HOURS, PRUNE_BATCH at a time (short
   * transactions, no long lock on the table); parked rows stay until someone looks. Answers how
   * many went.
   */
  async prune(maxBatches = 100): Promise<number> {
    let total = 0;
    for (let i = 0; i < maxBatches; i++) {
      const n = await outboxRepository.pruneRelayed(this.dataSource.manager, this.retentionHours, PRUNE_BATCH);
      total += n;
      if (n < PRUNE_BATCH) break;
    }
    return total;
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.dueAt = Date.now() + ms;
    this.timer = setTimeout(() => this.kick(), ms);
    this.timer.unref();
  }

  private async pass(): Promise<void> {
    try {
      while (!this.stopped && (await this.relayBatch()) === BATCH);
      this.failures = 0;
    } catch (error) {
      this.failures = Math.min(this.failures + 1, 8);
      this.logger.warn(`outbox relay paused (${(error as Error).message}); retrying, nothing is lost`);
    }
  }

  private async relayBatch(): Promise<number> {
    return this.dataSource.transaction(async (manager) => {
      const claimed = await outboxRepository.claim(manager, BATCH);
      if (claimed.length === 0) return 0;
      const byQueue = new Map<QueueName, { name: string; data: Record<string, unknown>; opts: JobsOptions }[]>();
      const batches = new Map<OutboxBatchRoute, OutboxRow[]>();
      const parked: { id: string; error: string }[] = [];
      const rows: OutboxRow[] = [];
      for (const row of claimed) {
        // A row the relay cannot hand over is parked with why, not retried in front of every other row.
        try {
          const route = this.routes.get(row.topic);
          if (!route) throw new Error(`unknown topic ${row.topic}`);
          if (isBatchRoute(route)) appendTo(batches, route, row);
          else
            appendTo(byQueue, route.queue, {
              name: route.job,
              data: { ...row.payload, id: row.aggregate_id, outboxId: row.id },
              opts: { ...this.jobOptions[route.queue], jobId: route.jobId(row.aggregate_id, row.payload) },
            });
          rows.push(row);
        } catch (error) {
          parked.push({ id: row.id, error: (error as Error).message.slice(0, 2000) });
        }
      }
      if (parked.length) {
        await outboxRepository.park(manager, parked);
        this.logger.error(`parked ${parked.length} outbox message(s) the relay cannot hand over: ${parked.map((p) => `${p.id} (${p.error})`).join('; ')}`);
      }
      for (const [route, batched] of batches) {
        for (let i = 0; i < batched.length; i += route.batch.max) {
          const chunk = batched.slice(i, i + route.batch.max);
          const outboxIds = chunk.map((r) => r.id);
          const ids = [...new Set(chunk.map((r) => r.aggregate_id))];
          appendTo(byQueue, route.queue, { name: route.job, data: { ids, outboxIds }, opts: { ...this.jobOptions[route.queue], jobId: route.batch.jobId(outboxIds) } });
        }
      }
      await withTimeout(Promise.all([...byQueue].map(([queue, jobs]) => this.queues[queue].addBulk(jobs))), REDIS_TIMEOUT_MS, 'Redis did not accept the jobs');
      if (rows.length)
        await outboxRepository.markRelayed(
          manager,
          rows.map((r) => r.id),
        );
      for (const row of rows) this.relayed.inc({ topic: row.topic });
      return claimed.length;
    });
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(message)), ms);
    }),
  ]);
}
