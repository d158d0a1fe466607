import { Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';

export interface RunProgress {
  done: number;
  total: number;
}

/** What an item's failure means for the run. */
export type ItemFailure = 'settled' | 'retry';

/**
 * The parts of a run that differ between payout runs and invoice runs; the engine does the rest.
 * An item is a payout or an invoice, read again from the database on each pass.
 */
export interface RunDefinition<Item extends { id: string }, Prepared = undefined> {
  /** The runs table; it has `status` (queued → running → completed | failed), `error`, `finished_at`. */
  table: 'payout_runs' | 'invoice_runs';
  /** Also stamps `started_at` (once) when the run starts. */
  stampsStart?: boolean;
  /** Items done at once. */
  concurrency: number;
  /** What the items are called in logs. */
  noun: string;
  /** Before planning, on every attempt. */
  beforePlan?(runId: string): Promise<void>;
  /** Writes the run's items, once: a repeat after it planned does nothing. */
  plan(runId: string): Promise<void>;
  /** The items not done yet, in a stable order. */
  open(runId: string): Promise<Item[]>;
  /**
   * Items handed to `prepare` at once: the open items are taken in windows of this size, each
   * window prepared (one call) just before its first item is done. Default: one window per item.
   */
  window?: number;
  /**
   * Before the items of a window are done (a claim in one statement, say): answers what each
   * item's `execute` gets, by item id. An error fails every item of the window (`failed`).
   */
  prepare?(items: Item[]): Promise<Map<string, Prepared>>;
  /** Does one item; safe to repeat (idempotency keys, look-ups before acting again). */
  execute(item: Item, prepared: Prepared | undefined): Promise<void>;
  /**
   * An item whose `execute` threw: settled now for good (a definitive refusal), or left open for
   * the job's next attempt. An error here ends the attempt.
   */
  failed(item: Item, error: unknown): Promise<ItemFailure>;
  /** The run's progress from its counters. */
  progress(runId: string): Promise<RunProgress>;
  /** The run gave up: settle an item it leaves open (done if the provider did it, else released). */
  abandon(item: Item, reason: string): Promise<void>;
}

/**
 * The one run mechanism of payout runs and invoice runs (see ARCHITECTURE.md, "Runs"): a job runs
 * `execute`, any number of times; it marks the run running, plans once, does each open item,
 * reports progress, and completes when nothing is left. An item left for later fails the attempt
 * (after the others are done), so the queue retries the job; when the job is out of attempts,
 * `giveUp` settles each open item and fails the run.
 */
export class RunEngine<Item extends { id: string }, Prepared = undefined> {
  private readonly logger: Logger;

  constructor(
    private readonly dataSource: DataSource,
    private readonly definition: RunDefinition<Item, Prepared>,
  ) {
    this.logger = new Logger(`RunEngine:${definition.table}`);
  }

  async execute(runId: string, onProgress: (p: RunProgress) => Promise<void>): Promise<void> {
    const d = this.definition;
    await this.dataSource.query(
      `UPDATE ${d.table} SET status = 'running'${d.stampsStart ? ', started_at = coalesce(started_at, now())' : ''} WHERE id = $1 AND status IN ('queued', 'running')`,
      [runId],
    );
    await d.beforePlan?.(runId);
    await d.plan(runId);
    const open = await d.open(runId);
    let retry: unknown;
    let cursor = 0;
    const size = Math.max(1, d.window ?? 1);
    const windows = new Map<number, Promise<Map<string, Prepared>>>();
    const prepared = (index: number): Promise<Map<string, Prepared>> | undefined => {
      if (!d.prepare) return undefined;
      const w = Math.floor(index / size);
      let window = windows.get(w);
      if (!window) {
        window = d.prepare(open.slice(w * size, (w + 1) * size));
        window.catch(() => undefined); // each item of the window meets the error itself
        windows.set(w, window);
        windows.delete(w - 2);
      }
      return window;
    };
    const progress = new ProgressReporter(async () => onProgress(await d.progress(runId)));
    const worker = async () => {
      while (cursor < open.length) {
        const index = cursor++;
        const item = open[index];
        try {
          await d.execute(item, (await prepared(index))?.get(item.id));
        } catch (error) {
          if ((await d.failed(item, error)) === 'retry') {
            // The others go on; this one is retried with the job.
            this.logger.warn(`${d.noun} ${item.id}: ${(error as Error)?.message ?? String(error)}; retried with the run`);
            retry ??= error;
          }
        }
        progress.report();
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, d.concurrency) }, worker));
    // The last report reads the counters once every item is settled: progress ends exact.
    await progress.flush();
    // Some items are unsettled: the job fails and the queue retries it; done items stay done.
    if (retry) throw retry;
    await this.dataSource.query(`UPDATE ${d.table} SET status = 'completed', finished_at = now() WHERE id = $1 AND status = 'running'`, [runId]);
  }

  /** Ends a run for good (its job ran out of attempts); an item that cannot be settled now is logged and stays open. */
  async giveUp(runId: string, reason: string): Promise<void> {
    const d = this.definition;
    for (const item of await d.open(runId)) {
      try {
        await d.abandon(item, reason);
      } catch (error) {
        this.logger.error(`${d.noun} ${item.id} of given-up run ${runId} could not be settled now: ${(error as Error)?.message ?? String(error)}`);
      }
    }
    await this.dataSource.query(`UPDATE ${d.table} SET status = 'failed', error = $2, finished_at = now() WHERE id = $1 AND status IN ('queued', 'running')`, [
      runId,
      reason.slice(0, 500),
    ]);
  }
}

/** Progress reports, at most this often while items are being done (the run's counters are exact in the database at any time). */
const PROGRESS_EVERY_MS = 200;

/**
 * Progress reports one at a time, at most every PROGRESS_EVERY_MS: an item settled while a report
 * is on its way (or too soon after one) asks for one more after it, so reports never queue up
 * behind the items (one database read and one queue write each) and the last one, after `flush`,
 * reads counters that are final.
 */
class ProgressReporter {
  private running: Promise<void> | null = null;
  private again = false;
  private closing = false;
  private wake: (() => void) | null = null;

  constructor(
    private readonly send: () => Promise<void>,
    private readonly everyMs = PROGRESS_EVERY_MS,
  ) {}

  report(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.loop();
  }

  /** Waits for the report on its way (not for the pause after it), then sends the last one. */
  async flush(): Promise<void> {
    this.closing = true;
    this.wake?.();
    while (this.running) await this.running;
    await this.send();
  }

  private async loop(): Promise<void> {
    try {
      do {
        this.again = false;
        const sent = Date.now();
        await this.send();
        const wait = sent + this.everyMs - Date.now();
        if (this.again && wait > 0 && !this.closing) {
          await new Promise<void>((resolve) => {
            this.wake = resolve;
            setTimeout(resolve, wait);
          });
          this.wake = null;
        }
      } while (this.again && !this.closing);
    } catch {
      // A report that could not be sent is not the run's failure; the next one says the same.
    } finally {
      this.running = null;
    }
  }
}
