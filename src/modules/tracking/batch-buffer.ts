export type DropReason = 'buffer_full' | 'invalid' | 'shutdown';

export interface BatchBufferOptions<T> {
  /** Items held at most, written or not; a push beyond it waits for room. */
  maxItems: number;
  batchSize: number;
  /** Longest time an accepted item waits before a write starts (unless writes are failing). */
  flushIntervalMs: number;
  /** How long a push waits for room before the oldest waiting item is dropped for it. */
  backpressureTimeoutMs: number;
  /**
   * Writes in flight at once (default 1). With two, the batch of the next interval starts while
   * a slow write is still in flight instead of waiting for it, so a crash loses at most the
   * writes in flight and one interval, not twice a slow write.
   */
  maxWritesInFlight?: number;
  /** Writes one batch; a rejection puts the batch back and retries it after a backoff. */
  write: (batch: T[]) => Promise<void>;
  onDrop: (count: number, reason: DropReason) => void;
  onWriteError: (error: unknown, batchSize: number, failures: number) => void;
  retryDelayMs?: (failures: number) => number;
}

interface Entry<T> {
  item: T;
  seq: number;
}

interface Waiter<T> {
  item: T;
  resolve: () => void;
  timer: NodeJS.Timeout;
}

const READY: Promise<void> = Promise.resolve();
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());
const defaultRetryDelay = (failures: number) => Math.min(100 * 2 ** (failures - 1), 5000) * (0.75 + Math.random() / 2);

/**
 * An in-memory write-behind queue: items are accepted at once and written in batches by up to
 * `maxWritesInFlight` writer loops, every flush interval or as soon as a batch is full. The
 * interval keeps its cadence while writes are in flight: a tick marks what is accepted so far,
 * and it is written by a free writer, or as soon as one frees up, so a crash loses at most one
 * interval plus the writes in flight. Bounded: when full, push()
 * waits for room (back-pressure), and after a short timeout the oldest unwritten item is
 * dropped to make room, so memory stays bounded while the database is away. Failed writes
 * keep their items and are retried with exponential backoff; nothing is lost but what the
 * bound forces out.
 */
export class BatchBuffer<T> {
  private queue: Entry<T>[] = [];
  /** The batches being written. */
  private readonly writing = new Set<Entry<T>[]>();
  private writingItems = 0;
  private readonly maxWriters: number;
  private writers = 0;
  private waiters: Waiter<T>[] = [];
  private accepted = 0;
  /** Items up to this sequence number are written without waiting for a full batch. */
  private dueUpTo = 0;
  /** Settles when the last writer loop ends; null while none runs. */
  private running: Promise<void> | null = null;
  private settleRunning: (() => void) | null = null;
  private failures = 0;
  private retryAt = 0;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(private readonly options: BatchBufferOptions<T>) {
    this.maxWriters = Math.max(1, options.maxWritesInFlight ?? 1);
  }

  /** Items accepted and not yet written (waiting pushes not included). */
  get size(): number {
    return this.queue.length + this.writingItems;
  }

  /** Resolves once the item is accepted; at once unless the buffer is full. */
  push(item: T): Promise<void> {
    if (this.closed) {
      this.options.onDrop(1, 'shutdown');
      return READY;
    }
    if (this.waiters.length === 0 && this.size < this.options.maxItems) {
      this.accept(item);
      return READY;
    }
    return new Promise<void>((resolve) => {
      const waiter: Waiter<T> = { item, resolve, timer: setTimeout(() => this.expire(waiter), this.options.backpressureTimeoutMs) };
      this.waiters.push(waiter);
    });
  }

  /** Writes everything accepted (or waiting for room) before the call; retries until it is stored. */
  async flush(): Promise<void> {
    const upTo = this.accepted + this.waiters.length;
    while (!this.closed && (this.running || this.waiters.length > 0 || (this.queue.length > 0 && this.queue[0].seq <= upTo))) {
      if (this.running) {
        await this.running;
        continue;
      }
      const wait = this.retryAt - Date.now();
      if (wait > 0) await sleep(wait);
      else if (this.queue.length > 0) await this.run(upTo);
      else await sleep(Math.max(1, this.options.backpressureTimeoutMs));
    }
  }

  /** The first accepted, unwritten item that matches. */
  find(predicate: (item: T) => boolean): T | undefined {
    for (const batch of this.writing) {
      const found = batch.find((e) => predicate(e.item));
      if (found) return found.item;
    }
    return this.queue.find((e) => predicate(e.item))?.item;
  }

  start(): void {
    if (this.timer || this.closed) return;
    const tick = () => {
      this.timer = setTimeout(tick, this.options.flushIntervalMs).unref();
      if (this.queue.length > 0 && Date.now() >= this.retryAt) void this.run(this.accepted);
    };
    this.timer = setTimeout(tick, this.options.flushIntervalMs).unref();
  }

  /**
   * Stops the timer and writes what is left, giving up after `timeoutMs`; answers how many
   * items could not be written (they are reported as dropped).
   */
  async close(timeoutMs: number): Promise<number> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    let timedOut = false;
    await Promise.race([this.flush(), sleep(timeoutMs).then(() => (timedOut = true))]);
    this.closed = true;
    const lost = timedOut ? this.size + this.waiters.length : 0;
    if (lost > 0) {
      this.waiters.splice(0).forEach((w) => (clearTimeout(w.timer), w.resolve()));
      this.queue = [];
      this.options.onDrop(lost, 'shutdown');
    }
    return lost;
  }

  private accept(item: T): void {
    this.queue.push({ item, seq: ++this.accepted });
    if (this.queue.length >= this.options.batchSize && this.writers < this.maxWriters && Date.now() >= this.retryAt) void this.run(0);
  }

  /**
   * Writes full batches and everything accepted up to `upTo`: starts writer loops up to the
   * limit while there is something due (a call while they run extends what they write), and
   * answers a promise that settles when the last loop ends. Never rejects.
   */
  private run(upTo: number): Promise<void> {
    this.dueUpTo = Math.max(this.dueUpTo, upTo);
    while (this.writers < this.maxWriters && this.due() && Date.now() >= this.retryAt) this.startWriter();
    return this.running ?? READY;
  }

  /** Something is due: accepted up to `dueUpTo`, or a full batch. */
  private due(): boolean {
    return this.queue.length > 0 && (this.queue[0].seq <= this.dueUpTo || this.queue.length >= this.options.batchSize);
  }

  private startWriter(): void {
    if (this.writers++ === 0) this.running = new Promise<void>((resolve) => (this.settleRunning = resolve));
    const loop = async () => {
      // After a failure the batch is back in the queue and every loop stops until the backoff ends.
      while (this.due() && Date.now() >= this.retryAt) {
        if (!(await this.writeOne())) return;
      }
    };
    void loop().finally(() => {
      if (--this.writers > 0) return;
      const settle = this.settleRunning;
      this.running = null;
      this.settleRunning = null;
      settle?.();
    });
  }

  private async writeOne(): Promise<boolean> {
    const batch = this.queue.splice(0, this.options.batchSize);
    this.writing.add(batch);
    this.writingItems += batch.length;
    try {
      await this.options.write(batch.map((e) => e.item));
      this.failures = 0;
      this.retryAt = 0;
      return true;
    } catch (error) {
      if (this.closed) return false; // given up on at close, and counted there
      this.queue = batch.concat(this.queue);
      this.failures += 1;
      this.retryAt = Date.now() + (this.options.retryDelayMs ?? defaultRetryDelay)(this.failures);
      this.options.onWriteError(error, batch.length, this.failures);
      return false;
    } finally {
      this.writing.delete(batch);
      this.writingItems -= batch.length;
      this.admitWaiters();
    }
  }

  private admitWaiters(): void {
    while (this.waiters.length > 0 && this.size < this.options.maxItems) {
      const waiter = this.waiters.shift() as Waiter<T>;
      clearTimeout(waiter.timer);
      this.accept(waiter.item);
      waiter.resolve();
    }
  }

  /** No room came in time: the oldest unwritten item makes way for the new one. */
  private expire(waiter: Waiter<T>): void {
    const at = this.waiters.indexOf(waiter);
    if (at < 0) return;
    this.waiters.splice(at, 1);
    if (this.queue.length > 0) {
      this.queue.shift();
      this.accept(waiter.item);
    }
    this.options.onDrop(1, 'buffer_full');
    waiter.resolve();
    this.admitWaiters();
  }
}
