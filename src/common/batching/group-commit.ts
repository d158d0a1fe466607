/**
 * Group commit: calls arriving in the same tick, or while a batch is being written, are written
 * together in the next batch, so N concurrent callers cost one transaction instead of N. Each
 * caller gets its own result; when a batch fails, each of its calls is run again alone, so an
 * error reaches only the caller whose input caused it.
 */
export interface GroupCommitOptions<I> {
  /** How much one batch takes at most, counted with `sizeOf` (1 per input by default); a bigger input goes alone. */
  maxBatch?: number;
  sizeOf?: (input: I) => number;
  /** How many batches may be written at once (1 by default): more hides the round trips of one behind another. */
  concurrency?: number;
}

interface Pending<I, R> {
  input: I;
  resolve: (result: R) => void;
  reject: (error: unknown) => void;
}

export class GroupCommit<I, R> {
  private queue: Pending<I, R>[] = [];
  private inFlight = 0;
  private scheduled = false;
  private readonly maxBatch: number;
  private readonly sizeOf: (input: I) => number;
  private readonly concurrency: number;

  /** `write` takes the inputs of one batch and answers one result per input, in order. */
  constructor(
    private readonly write: (inputs: I[]) => Promise<R[]>,
    options: GroupCommitOptions<I> = {},
  ) {
    this.maxBatch = options.maxBatch ?? 500;
    this.sizeOf = options.sizeOf ?? (() => 1);
    this.concurrency = options.concurrency ?? 1;
  }

  submit(input: I): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ input, resolve, reject });
      this.schedule();
    });
  }

  /** Starts a batch on the next turn of the event loop, so the rest of this tick joins it. */
  private schedule(): void {
    if (this.scheduled || this.inFlight >= this.concurrency) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      while (this.queue.length && this.inFlight < this.concurrency) {
        const batch = this.take();
        this.inFlight++;
        void this.run(batch).finally(() => {
          this.inFlight--;
          if (this.queue.length) this.schedule();
        });
      }
    });
  }

  private async run(batch: Pending<I, R>[]): Promise<void> {
    try {
      const results = await this.write(batch.map((p) => p.input));
      batch.forEach((p, i) => p.resolve(results[i]));
    } catch (error) {
      if (batch.length === 1) batch[0].reject(error);
      else for (const p of batch) await this.write([p.input]).then(([r]) => p.resolve(r), p.reject);
    }
  }

  private take(): Pending<I, R>[] {
    let size = this.sizeOf(this.queue[0].input);
    let n = 1;
    while (n < this.queue.length && size + this.sizeOf(this.queue[n].input) <= this.maxBatch) size += this.sizeOf(this.queue[n++].input);
    return this.queue.splice(0, n);
  }
}
